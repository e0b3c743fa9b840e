//! Never more than X: the cap and `Idempotency-Key` hold when
//! WhatsApp's answer is lost, when a retry comes after each kind of outcome,
//! when sends race a lost answer, and when a request stops half-way.

use std::time::Duration as StdDuration;

use afterhours_adapters::graph::GraphClient;
use afterhours_adapters::http::ApiResponse;
use afterhours_adapters::model::{RecordKey, SendTag};
use afterhours_rules::webhook::DeliveryStatus;
use afterhours_tests::*;
use chrono::{Duration, Utc};
use futures::future::join_all;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::send::{body, code, send_fixture, SendFixture};
use crate::webhook::night;

/// A Graph client that gives up after a second, against the fixture's
/// sandbox: long enough for its request to reach the sandbox on a loaded
/// machine (else the sandbox's late answer would be kept for the next send),
/// short of [`LATE`].
pub(crate) fn impatient(s: &SendFixture) -> GraphClient {
    GraphClient::new(
        &s.f.graph.base_url,
        "v23.0",
        GRAPH_TOKEN,
        StdDuration::from_millis(1_000),
    )
    .unwrap()
}

/// How late the sandbox answers a send whose answer a test loses.
pub(crate) const LATE: StdDuration = StdDuration::from_millis(4_000);

/// A fixture with cap 2 whose sandbox takes the next message but answers
/// only after the deps' Graph client gave up.
async fn losing_one_answer() -> (SendFixture, send::Deps) {
    let s = send_fixture(Some(2)).await;
    let d = losing_next_answer(&s, morning());
    (s, d)
}

/// Send deps at `now` whose next Graph call goes out but whose answer is lost.
pub(crate) fn losing_next_answer(s: &SendFixture, now: chrono::DateTime<Utc>) -> send::Deps {
    let mut d = s.deps(now);
    d.graph = impatient(s);
    s.f.graph.sandbox.answer_late(1, LATE);
    d
}

pub(crate) fn morning() -> chrono::DateTime<Utc> {
    night() + Duration::hours(9)
}

fn replayed(r: &ApiResponse) -> bool {
    r.header("Idempotency-Replay") == Some("true")
}

/// A status webhook for a message we sent, as Meta posts it.
pub(crate) fn status(s: &SendFixture, sent: &Value, st: &str, errors: Value) -> Vec<u8> {
    envelope(
        &s.f.pnid,
        json!({"statuses": [{
            "id": sent["wamid"], "status": st, "timestamp": (morning().timestamp() + 5).to_string(),
            "recipient_id": s.phone, "errors": errors,
            "biz_opaque_callback_data": sent["body"]["biz_opaque_callback_data"],
        }]}),
    )
}

#[tokio::test]
async fn a_lost_answer_keeps_the_slot_and_its_status_settles_the_record() {
    let (s, d) = losing_one_answer().await;
    let app = s.app(&d);
    let agent = app.as_agent("a-1");
    let r = agent
        .send_to_contact(&s.record_id, &body(), Some("k-lost"))
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (504, "whatsapp_outcome_unknown".into())
    );
    assert_eq!(s.counted_sends().await.len(), 1, "the slot stays counted");
    let rec = s.f.records("a-1").await.remove(0);
    assert!(!rec.message_sent);
    assert_eq!(rec.delivery.unwrap().status, DeliveryStatus::Unknown);
    let sent = s.templates_sent();
    assert_eq!(sent.len(), 1);
    let tag = SendTag::parse(
        sent[0]["body"]["biz_opaque_callback_data"]
            .as_str()
            .unwrap(),
    )
    .expect("every template we send carries its tag");
    assert_eq!(
        (tag.record.as_str(), tag.sender.as_str()),
        (s.record_id.as_str(), "a-1")
    );
    // The retry replays the 504 and sends nothing.
    let again = agent
        .send_to_contact(&s.record_id, &body(), Some("k-lost"))
        .await;
    assert_eq!(again.status.as_u16(), 504);
    assert!(replayed(&again));
    assert_eq!(s.templates_sent().len(), 1);
    // WhatsApp reports the message delivered: the record shows it sent.
    assert_eq!(
        s.f.post(&status(&s, &sent[0], "delivered", json!([])))
            .await
            .status,
        200
    );
    let rec = s.f.records("a-1").await.remove(0);
    assert!(rec.message_sent);
    assert_eq!(rec.sent_wamid.as_deref(), sent[0]["wamid"].as_str());
    assert_eq!(rec.sent_by.as_deref(), Some("a-1"));
    assert_eq!(rec.sent_template.unwrap().name, "retorno");
    assert_eq!(rec.delivery.unwrap().status, DeliveryStatus::Delivered);
    // Later statuses follow the usual path; the slot still counts once.
    s.f.post(&status(&s, &sent[0], "read", json!([]))).await;
    assert_eq!(
        s.f.records("a-1").await[0]
            .delivery
            .as_ref()
            .unwrap()
            .status,
        DeliveryStatus::Read
    );
    assert_eq!(s.counted_sends().await.len(), 1);
}

#[tokio::test]
async fn a_lost_answer_that_turns_out_failed_gives_the_slot_back() {
    let (s, d) = losing_one_answer().await;
    assert_eq!(
        s.app(&d)
            .as_agent("a-1")
            .send_to_contact(&s.record_id, &body(), None)
            .await
            .status,
        504
    );
    assert_eq!(s.counted_sends().await.len(), 1);
    let sent = s.templates_sent().remove(0);
    let failed = status(
        &s,
        &sent,
        "failed",
        json!([{"code": 131026, "title": "Message undeliverable"}]),
    );
    assert_eq!(s.f.post(&failed).await.status, 200);
    assert!(s.counted_sends().await.is_empty(), "it never went out");
    let rec = s.f.records("a-1").await.remove(0);
    assert!(!rec.message_sent);
    let delivery = rec.delivery.unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.error.unwrap().code, 131026);
    // Meta's retry of the same status changes nothing twice.
    assert_eq!(s.f.post(&failed).await.status, 200);
    assert!(s.counted_sends().await.is_empty());
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_every_final_answer_and_never_sends_again() {
    let s = send_fixture(Some(5)).await;
    let d = s.deps(morning());
    let app = s.app(&d);
    let agent = app.as_agent("a-1");
    // 200
    let first = agent
        .send_to_contact(&s.record_id, &body(), Some("k-200"))
        .await;
    assert_eq!(first.status.as_u16(), 200);
    assert!(!replayed(&first));
    let again = agent
        .send_to_contact(&s.record_id, &body(), Some("k-200"))
        .await;
    assert_eq!(
        (again.status.as_u16(), again.json_body()),
        (200, first.json_body())
    );
    assert!(replayed(&again));
    assert_eq!(
        s.f.graph.sent_to(&s.phone).len(),
        2,
        "the prompt and one template"
    );
    // 502: Meta refuses, then would accept; the retry still gets the refusal.
    s.f.graph.sandbox.fail(&s.phone, Some(131047));
    let refused = agent
        .send_to_contact(&s.record_id, &body(), Some("k-502"))
        .await;
    assert_eq!(
        (refused.status.as_u16(), code(&refused)),
        (502, "whatsapp_rejected".into())
    );
    s.f.graph.sandbox.fail(&s.phone, None);
    let again = agent
        .send_to_contact(&s.record_id, &body(), Some("k-502"))
        .await;
    assert_eq!(
        (again.status.as_u16(), again.json_body()),
        (502, refused.json_body())
    );
    assert!(replayed(&again));
    assert_eq!(s.f.graph.sent_to(&s.phone).len(), 3);
    assert_eq!(
        s.counted_sends().await.len(),
        1,
        "the refusal gave its slot back"
    );
    // A refusal decided before the Graph call is not stored: the corrected retry goes out.
    let empty =
        json!({"template": {"name": "retorno", "language": "pt_BR"}, "variables": {"1": "Maria"}});
    let r = agent
        .send_to_contact(&s.record_id, &empty, Some("k-422"))
        .await;
    assert_eq!(r.status.as_u16(), 422);
    let r = agent
        .send_to_contact(&s.record_id, &empty, Some("k-422"))
        .await;
    assert_eq!(r.status.as_u16(), 422);
    assert!(!replayed(&r));
}

#[tokio::test]
async fn ten_concurrent_sends_racing_a_lost_answer_never_exceed_the_cap() {
    let (s, d) = losing_one_answer().await;
    let b = body();
    let app = s.app(&d);
    let answers = join_all((0..10).map(|_| {
        let caller = app.as_agent("a-1");
        let (record, b) = (&s.record_id, &b);
        async move { caller.send_to_contact(record, b, None).await }
    }))
    .await;
    let count = |st: u16| answers.iter().filter(|r| r.status == st).count();
    assert_eq!(
        (count(200), count(504), count(429)),
        (1, 1, 8),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(
        s.templates_sent().len(),
        2,
        "never more than the cap reach WhatsApp"
    );
    assert_eq!(s.counted_sends().await.len(), 2);
    // The lost one still counts: the next send waits for the window.
    let r = app
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(r.status.as_u16(), 429);
}

#[tokio::test]
async fn a_request_that_stopped_after_reserving_holds_its_key_briefly_and_its_slot_for_the_window()
{
    let s = send_fixture(Some(2)).await;
    let t = morning();
    // What a crash between the reservation and the Graph call leaves behind.
    let pk = afterhours_adapters::store::keys::idempotency_pk(&s.f.tenant, "a-1", "k-crash");
    let hash = hex::encode(Sha256::digest(
        format!("{}\n{}", s.record_id, body()).as_bytes(),
    ));
    s.f.store
        .claim_idempotency(
            &pk,
            &hash,
            t,
            Duration::seconds(send::IDEMPOTENCY_HOLD_SECONDS),
        )
        .await
        .unwrap();
    let key = RecordKey::from_id(&s.f.tenant, &s.record_id).unwrap();
    assert!(s
        .f
        .store
        .reserve(&s.f.tenant, "a-1", &key.customer, 2, t, None)
        .await
        .unwrap()
        .is_granted());
    // While the hold lasts, the key answers 409.
    let r = s
        .app(&s.deps(t + Duration::seconds(5)))
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), Some("k-crash"))
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (409, "idempotency_in_progress".into())
    );
    // After it, the retry goes out; the stopped request's slot still counts.
    let later = t + Duration::seconds(send::IDEMPOTENCY_HOLD_SECONDS + 1);
    let r = s
        .app(&s.deps(later))
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), Some("k-crash"))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(s.counted_sends().await.len(), 2);
    let r = s
        .app(&s.deps(later))
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(r.status.as_u16(), 429);
    // It is not leaked forever: it leaves the rolling window 24 h after it was taken.
    let next_day = t + Duration::hours(24) + Duration::seconds(1);
    let r = s
        .app(&s.deps(next_day))
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(s.templates_sent().len(), 2);
}

#[tokio::test]
async fn a_status_that_comes_before_the_lost_answer_is_marked_is_not_overwritten() {
    let s = send_fixture(Some(2)).await;
    let key = RecordKey::from_id(&s.f.tenant, &s.record_id).unwrap();
    let tag = SendTag {
        version: 1,
        record: s.record_id.clone(),
        sender: "a-1".into(),
        send_id: "send-1".into(),
        template: None,
        customer: None,
        sent_at: None,
    };
    let settled =
        s.f.store
            .settle_send(&afterhours_adapters::model::Settlement {
                key: &key,
                tag: &tag,
                wamid: "wamid.early",
                status: DeliveryStatus::Sent,
                at: morning(),
                error: None,
            })
            .await
            .unwrap();
    assert!(settled);
    s.f.store
        .mark_unknown(&afterhours_adapters::model::UnknownSend {
            key: &key,
            send_id: "send-1",
            at: morning(),
            idempotency: None,
        })
        .await
        .unwrap();
    let rec = s.f.records("a-1").await.remove(0);
    assert!(rec.message_sent);
    assert_eq!(rec.delivery.unwrap().status, DeliveryStatus::Sent);
}
