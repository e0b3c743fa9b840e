//! Who a customer belongs to when sends, answers and statuses arrive out of
//! order: the latest send decides, by its own time, and a status only
//! settles a send whose answer was lost, once.

use afterhours_adapters::lambda::fixed_clock;
use afterhours_adapters::model::DirectSend;
use afterhours_tests::*;
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use serde_json::{json, Value};

use crate::direct::direct_body;
use crate::lost_answers::{losing_next_answer, morning};
use crate::send::{code, send_fixture, SendFixture};

/// A status of `sent` (as the sandbox recorded it) at `at`, as Meta posts it.
fn status_at(s: &SendFixture, sent: &Value, st: &str, at: DateTime<Utc>, errors: Value) -> Vec<u8> {
    envelope(
        &s.f.pnid,
        json!({"statuses": [{
            "id": sent["wamid"], "status": st, "timestamp": at.timestamp().to_string(),
            "recipient_id": s.phone, "errors": errors,
            "biz_opaque_callback_data": sent["body"]["biz_opaque_callback_data"],
        }]}),
    )
}

/// The webhook as it runs at `now`.
async fn post_at(s: &SendFixture, now: DateTime<Utc>, body: &[u8]) -> u16 {
    let deps = webhook::Deps::new(
        s.f.store.clone(),
        s.f.graph.client(),
        APP_SECRET,
        "v",
        fixed_clock(now),
    );
    webhook::handle(&deps, webhook_post(body))
        .await
        .status
        .as_u16()
}

/// `agent` sends the fixture's customer an active message by number at `at`: the answer's status.
async fn sends_directly(s: &SendFixture, agent: &str, at: DateTime<Utc>) -> u16 {
    s.app(&s.deps(at))
        .as_agent(agent)
        .send_direct(&direct_body(s), None)
        .await
        .status
        .as_u16()
}

async fn owner(s: &SendFixture, now: DateTime<Utc>) -> Option<String> {
    s.f.store
        .agent_for_customer(&s.f.tenant, &s.phone, now)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_late_read_of_an_earlier_send_leaves_the_customer_with_the_later_sender() {
    let s = send_fixture(Some(5)).await;
    // Agent A (a-1) reaches the customer; agent B (a-2) does, later.
    let a_at = morning();
    let b_at = morning() + Duration::hours(15);
    let a = s
        .app(&s.deps(a_at))
        .as_agent("a-1")
        .send_direct(&direct_body(&s), None)
        .await;
    let b = s
        .app(&s.deps(b_at))
        .as_agent("a-2")
        .send_direct(&direct_body(&s), None)
        .await;
    assert_eq!(
        (a.status.as_u16(), b.status.as_u16()),
        (200, 200),
        "{} {}",
        a.body,
        b.body
    );
    let sent = s.templates_sent();
    // A's message is read after B's send: the customer stays B's.
    let read_at = b_at + Duration::hours(3);
    for st in ["sent", "delivered", "read"] {
        assert_eq!(
            post_at(
                &s,
                read_at,
                &status_at(&s, &sent[0], st, read_at, json!([]))
            )
            .await,
            200
        );
    }
    assert_eq!(owner(&s, read_at).await.as_deref(), Some("a-2"));
    // That night the customer writes: the record is B's.
    let night_msg = read_at + Duration::hours(1);
    let msg = messages_payload(
        &s.f.pnid,
        &[("wamid.later", &s.phone, night_msg.timestamp(), None)],
    );
    assert_eq!(post_at(&s, night_msg, &msg).await, 200);
    let b_list =
        s.f.store
            .list_records(
                &list_query(&s.f.tenant, "a-2", night_msg),
                &afterhours_adapters::cursor::CursorSigner::new(b"k").unwrap(),
            )
            .await
            .unwrap()
            .items;
    assert_eq!(b_list.len(), 1, "{b_list:?}");
    assert_eq!(b_list[0].key.customer, s.phone);
}

#[tokio::test]
async fn a_lost_answer_settles_as_of_its_own_send_time_not_its_status() {
    let s = send_fixture(Some(5)).await;
    // A's send (a-1) is lost: 504, outcome unknown.
    let slow = losing_next_answer(&s, morning());
    let lost = s
        .app(&slow)
        .as_agent("a-1")
        .send_direct(&direct_body(&s), None)
        .await;
    assert_eq!(
        (lost.status.as_u16(), code(&lost)),
        (504, "whatsapp_outcome_unknown".into())
    );
    // B (a-2) sends an hour later and gets the customer.
    let later = morning() + Duration::hours(1);
    assert_eq!(sends_directly(&s, "a-2", later).await, 200);
    assert_eq!(owner(&s, later).await.as_deref(), Some("a-2"));
    // A's status arrives after both: it settles A's send as of 08:10, so B keeps the customer.
    let sent = s.templates_sent();
    let status_time = morning() + Duration::hours(2);
    assert_eq!(
        post_at(
            &s,
            status_time,
            &status_at(&s, &sent[0], "sent", status_time, json!([]))
        )
        .await,
        200
    );
    assert_eq!(owner(&s, status_time).await.as_deref(), Some("a-2"));
}

#[tokio::test]
async fn a_lost_answer_settled_by_its_status_makes_the_customer_the_senders() {
    let s = send_fixture(Some(5)).await;
    assert_eq!(sends_directly(&s, "a-2", morning()).await, 200);
    // a-1's later send is lost; its `sent` status settles it: a-1's customer now.
    let later = morning() + Duration::hours(1);
    let slow = losing_next_answer(&s, later);
    assert_eq!(
        s.app(&slow)
            .as_agent("a-1")
            .send_direct(&direct_body(&s), None)
            .await
            .status,
        504
    );
    assert_eq!(owner(&s, later).await.as_deref(), Some("a-2"));
    let sent = s.templates_sent();
    let at = later + Duration::hours(1);
    assert_eq!(
        post_at(&s, at, &status_at(&s, &sent[1], "delivered", at, json!([]))).await,
        200
    );
    assert_eq!(owner(&s, at).await.as_deref(), Some("a-1"));
    // It went out: a late `failed` of the same send gives nothing back.
    let failed = status_at(
        &s,
        &sent[1],
        "failed",
        at,
        json!([{"code": 131026, "title": "x"}]),
    );
    assert_eq!(post_at(&s, at, &failed).await, 200);
    assert_eq!(s.counted_sends().await.len(), 1);
}

#[tokio::test]
async fn a_failed_status_gives_a_slot_back_once_whatever_the_redeliveries() {
    let s = send_fixture(Some(5)).await;
    // One send answered 200, one whose answer was lost: both counted.
    assert_eq!(sends_directly(&s, "a-1", morning()).await, 200);
    let slow = losing_next_answer(&s, morning());
    assert_eq!(
        s.app(&slow)
            .as_agent("a-1")
            .send_direct(&direct_body(&s), None)
            .await
            .status,
        504
    );
    assert_eq!(s.counted_sends().await.len(), 2);
    let sent = s.templates_sent();
    let at = morning() + Duration::minutes(5);
    let undeliverable = json!([{"code": 131026, "title": "Message undeliverable"}]);
    // The answered send later fails to deliver: it went out, its slot stays.
    let late_failure = status_at(&s, &sent[0], "failed", at, undeliverable.clone());
    assert_eq!(post_at(&s, at, &late_failure).await, 200);
    assert_eq!(s.counted_sends().await.len(), 2);
    // The lost send failed: its slot comes back once, however often (and
    // however concurrently) Meta redelivers the status.
    let failed = status_at(&s, &sent[1], "failed", at, undeliverable);
    let statuses = join_all((0..4).map(|_| post_at(&s, at, &failed))).await;
    assert!(statuses.iter().all(|st| *st == 200), "{statuses:?}");
    assert_eq!(post_at(&s, at, &failed).await, 200);
    assert_eq!(s.counted_sends().await.len(), 1);
    // A status after the settlement only updates the delivery state.
    let sent_late = status_at(&s, &sent[1], "sent", at + Duration::minutes(1), json!([]));
    assert_eq!(post_at(&s, at, &sent_late).await, 200);
    assert_eq!(s.counted_sends().await.len(), 1);
}

#[tokio::test]
async fn concurrent_sends_leave_the_customer_with_the_latest_one_whatever_the_order() {
    let s = send_fixture(None).await;
    let store = &s.f.store;
    let wamids: Vec<String> = (0..8).map(|i| format!("wamid.race{i}")).collect();
    let senders: Vec<String> = (0..8).map(|i| format!("a-{i}")).collect();
    // Eight sends of different times, written all at once in a shuffled order.
    let order = [5usize, 2, 7, 0, 3, 6, 1, 4];
    let writes = order.iter().map(|&i| {
        let send = DirectSend {
            tenant: &s.f.tenant,
            customer: &s.phone,
            sender: &senders[i],
            wamid: &wamids[i],
            sent_at: morning() + Duration::minutes(i as i64),
            at: morning() + Duration::minutes(10),
        };
        async move { store.direct_sent(&send, None).await }
    });
    for r in join_all(writes).await {
        r.unwrap();
    }
    assert_eq!(owner(&s, morning()).await.as_deref(), Some("a-7"));
    // An older send written afterwards changes nothing either.
    let old = DirectSend {
        tenant: &s.f.tenant,
        customer: &s.phone,
        sender: "a-9",
        wamid: "wamid.old",
        sent_at: morning() - Duration::hours(1),
        at: morning() + Duration::hours(1),
    };
    store.direct_sent(&old, None).await.unwrap();
    assert_eq!(owner(&s, morning()).await.as_deref(), Some("a-7"));
}

#[tokio::test]
async fn a_lost_record_send_settled_late_does_not_take_the_customer_from_a_later_sender() {
    let s = send_fixture(Some(5)).await;
    // a-1's send from the record is lost (504)...
    let slow = losing_next_answer(&s, morning());
    let lost = s
        .app(&slow)
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &crate::send::body(), None)
        .await;
    assert_eq!(
        (lost.status.as_u16(), code(&lost)),
        (504, "whatsapp_outcome_unknown".into())
    );
    // ...a-2 reaches the customer an hour later...
    let later = morning() + Duration::hours(1);
    assert_eq!(sends_directly(&s, "a-2", later).await, 200);
    // ...and a-1's `delivered` comes after both: the record is marked sent, the customer stays a-2's.
    let sent = s.templates_sent();
    let at = morning() + Duration::hours(2);
    assert_eq!(
        post_at(&s, at, &status_at(&s, &sent[0], "delivered", at, json!([]))).await,
        200
    );
    let rec = s.f.records("a-1").await.remove(0);
    assert!(rec.message_sent);
    assert_eq!(rec.sent_at, Some(morning()), "sent at the send's own time");
    assert_eq!(owner(&s, at).await.as_deref(), Some("a-2"));
}
