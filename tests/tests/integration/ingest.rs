//! Nothing lost on the way in: prompts only while closed, bursts of
//! new customers, deduplication by `wamid` whatever changed since, taps that
//! outlive a webhook that stopped half-way, poison items, and no attribute
//! that grows without bound.

use std::time::Duration as StdDuration;

use afterhours_adapters::lambda::fixed_clock;
use afterhours_adapters::model::{Inbound, IngestOutcome, PromptTag, RecordKey};
use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::prompt::{NO_ID, YES_ID};
use afterhours_tests::*;
use chrono::{Duration, TimeZone, Utc};
use futures::stream::{self, StreamExt};
use serde_json::json;

use crate::webhook::{fixture, fixture_with, night, settings, tap, Fixture};

/// The fixture's webhook with its clock at `now`.
fn at(f: &Fixture, now: chrono::DateTime<Utc>) -> webhook::Deps {
    webhook::Deps::new(
        f.store.clone(),
        f.graph.client(),
        APP_SECRET,
        "v",
        fixed_clock(now),
    )
}

fn prompts(f: &Fixture) -> Vec<serde_json::Value> {
    f.graph
        .sandbox
        .sent()
        .into_iter()
        .filter(|m| m["body"]["type"] == "interactive")
        .collect()
}

#[tokio::test]
async fn a_late_delivery_processed_after_opening_is_recorded_without_a_prompt() {
    // Written on Friday night, delivered (Meta retried) on Monday at 08:22, when the team is open.
    let monday = Utc.with_ymd_and_hms(2026, 11, 23, 11, 22, 0).unwrap();
    let f = fixture_with(settings(true, false), monday).await;
    let body = messages_payload(
        &f.pnid,
        &[(
            "wamid.late",
            "5511999990101",
            night().timestamp(),
            Some("Ana"),
        )],
    );
    assert_eq!(f.post(&body).await.status, 200);
    let rec = f.records("a-1").await.remove(0);
    assert_eq!(rec.requested_callback, RequestedCallback::NotAsked);
    assert!(
        prompts(&f).is_empty(),
        "no \"we are closed now\" while open"
    );
}

#[tokio::test]
async fn a_prompt_names_the_next_opening_after_now_not_after_the_message() {
    // Written Thursday 23:10 (next opening: Friday 08:00), delivered late and
    // processed Saturday 10:00, still closed: the prompt says Monday 08:00.
    let thursday_night = Utc.with_ymd_and_hms(2026, 11, 20, 2, 10, 0).unwrap();
    let saturday = Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0).unwrap();
    let f = fixture_with(settings(true, false), saturday).await;
    let body = messages_payload(
        &f.pnid,
        &[(
            "wamid.thu",
            "5511999990102",
            thursday_night.timestamp(),
            None,
        )],
    );
    assert_eq!(f.post(&body).await.status, 200);
    let sent = prompts(&f);
    assert_eq!(sent.len(), 1);
    let text = sent[0]["body"]["interactive"]["body"]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("on Monday, Nov 23 at 08:00"), "{text}");
    assert!(!text.contains("Friday"), "{text}");
}

#[tokio::test]
async fn fifty_new_customers_in_one_post_get_their_prompts_several_at_once() {
    let f = fixture().await;
    f.graph.sandbox.set_latency(StdDuration::from_millis(300));
    let phones: Vec<String> = (0..50).map(|i| format!("55119888{i:05}")).collect();
    let msgs: Vec<(String, &str, i64, Option<&str>)> = phones
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                format!("wamid.burst{i}"),
                p.as_str(),
                night().timestamp(),
                None,
            )
        })
        .collect();
    let refs: Vec<(&str, &str, i64, Option<&str>)> = msgs
        .iter()
        .map(|(w, p, t, n)| (w.as_str(), *p, *t, *n))
        .collect();
    let started = std::time::Instant::now();
    assert_eq!(f.post(&messages_payload(&f.pnid, &refs)).await.status, 200);
    // Measured, not asserted (speed belongs in the benchmark).
    eprintln!(
        "50 new customers, Graph at 300 ms: 200 after {:?}",
        started.elapsed()
    );
    assert_eq!(prompts(&f).len(), 50);
    let in_flight = f.graph.sandbox.max_in_flight();
    assert!(
        (2..=webhook::PROMPT_CONCURRENCY).contains(&in_flight),
        "prompts are sent several at once, at most {}: {in_flight}",
        webhook::PROMPT_CONCURRENCY
    );
    let records = f.records("a-1").await;
    assert_eq!(records.len(), 50);
    assert!(records
        .iter()
        .all(|r| r.requested_callback == RequestedCallback::Pending));
}

#[tokio::test]
async fn a_retry_after_the_agent_or_the_settings_changed_changes_nothing() {
    let f = fixture().await;
    let phone = "5511999990103";
    let first = messages_payload(&f.pnid, &[("wamid.d1", phone, night().timestamp(), None)]);
    assert_eq!(f.post(&first).await.status, 200);
    // Another agent reaches the customer; the settings change too (Friday
    // closes at 17:00, so the closed period would now start an hour earlier).
    let k = f.records("a-1").await[0].key.clone();
    mark_sent(&f.store, &k, "a-7", ("t", "pt_BR"), "wamid.other", night())
        .await
        .unwrap();
    let mut changed = settings(true, false);
    changed["businessHours"]["weekly"]["fri"] = json!([["08:00", "17:00"]]);
    f.store.put_settings(&f.tenant, &changed).await.unwrap();
    let fresh = at(&f, night() + Duration::minutes(5));
    let retry = webhook::handle(&fresh, webhook_post(&first)).await;
    assert_eq!(retry.status.as_u16(), 200);
    assert!(
        f.records("a-7").await.is_empty(),
        "no record for the new agent"
    );
    let a1 = f.records("a-1").await;
    assert_eq!(a1.len(), 1, "no record for the new closed period: {a1:?}");
    assert_eq!((a1[0].key.clone(), a1[0].message_count), (k, 1));
    assert_eq!(prompts(&f).len(), 1, "no second prompt");
}

#[tokio::test]
async fn a_tap_is_not_lost_when_the_prompts_bookkeeping_was_not_stored() {
    let f = fixture().await;
    let phone = "5511999990104";
    // What a webhook that stopped after sending the prompt leaves: a record
    // with `n/a`, a prompt at Meta, and Meta's retries being duplicates.
    let k = RecordKey {
        tenant: f.tenant.clone(),
        agent: "a-1".into(),
        customer: phone.into(),
        // The closed period's start: Friday 18:00 in São Paulo.
        period: Utc
            .with_ymd_and_hms(2026, 11, 20, 21, 0, 0)
            .unwrap()
            .timestamp(),
    };
    let created = f
        .store
        .record_inbound(&Inbound {
            key: k.clone(),
            channel: f.pnid.clone(),
            wamid: "wamid.t1".into(),
            at: night(),
            wa_id: Some(phone.into()),
            user_id: None,
            name: None,
            settled: false,
        })
        .await
        .unwrap();
    assert_eq!(created, IngestOutcome::Created);
    // The customer taps Yes before the prompt's status arrives: kept aside.
    let yes = tap(
        &f.pnid,
        phone,
        "wamid.prompt-1",
        YES_ID,
        night() + Duration::minutes(2),
        "wamid.tap1",
    );
    assert_eq!(f.post(&yes).await.status, 200);
    // The prompt's status carries its tag: the bookkeeping completes and the tap lands.
    let status = envelope(
        &f.pnid,
        json!({"statuses": [{"id": "wamid.prompt-1", "status": "delivered",
            "timestamp": (night().timestamp() + 60).to_string(), "recipient_id": phone,
            "biz_opaque_callback_data": PromptTag::new(&k).encode()}]}),
    );
    assert_eq!(f.post(&status).await.status, 200);
    let rec = f.store.get_record(&k, night()).await.unwrap().unwrap();
    assert_eq!(rec.requested_callback, RequestedCallback::Yes);
    assert_eq!(rec.prompt_wamid.as_deref(), Some("wamid.prompt-1"));
    // A tap after opening still counts (it replaces the answer only if newer).
    let monday = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    let no = tap(
        &f.pnid,
        phone,
        "wamid.prompt-1",
        afterhours_rules::prompt::NO_ID,
        monday,
        "wamid.tap2",
    );
    assert_eq!(
        webhook::handle(&at(&f, monday), webhook_post(&no))
            .await
            .status,
        200
    );
    assert_eq!(
        f.records("a-1").await[0].requested_callback,
        RequestedCallback::No
    );
}

#[tokio::test]
async fn a_message_dynamodb_refuses_is_skipped_and_the_rest_is_stored() {
    let f = fixture().await;
    let huge = "x".repeat(410 * 1024);
    let body = messages_payload(
        &f.pnid,
        &[
            (
                "wamid.p1",
                "5511999990105",
                night().timestamp(),
                Some("Ana"),
            ),
            (
                "wamid.p2",
                "5511999990106",
                night().timestamp(),
                Some(huge.as_str()),
            ),
            (
                "wamid.p3",
                "5511999990107",
                night().timestamp(),
                Some("Bia"),
            ),
        ],
    );
    assert_eq!(
        f.post(&body).await.status,
        200,
        "no 7 days of retries for it"
    );
    let names: Vec<Option<String>> = f.records("a-1").await.into_iter().map(|r| r.name).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&Some("Ana".into())) && names.contains(&Some("Bia".into())));
}

#[tokio::test]
async fn timestamps_more_than_five_minutes_ahead_are_skipped() {
    let f = fixture().await;
    let now = night() + Duration::minutes(1);
    let body = messages_payload(
        &f.pnid,
        &[
            (
                "wamid.f1",
                "5511999990108",
                (now + Duration::minutes(10)).timestamp(),
                None,
            ),
            (
                "wamid.f2",
                "5511999990109",
                (now + Duration::minutes(2)).timestamp(),
                None,
            ),
        ],
    );
    assert_eq!(f.post(&body).await.status, 200);
    let recs = f.records("a-1").await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].key.customer, "5511999990109");
}

#[tokio::test]
async fn ten_thousand_messages_of_one_night_keep_the_record_small() {
    let f = fixture().await;
    let k = RecordKey {
        tenant: f.tenant.clone(),
        agent: "a-1".into(),
        customer: "5511999990110".into(),
        period: night().timestamp(),
    };
    let message = |i: i64| Inbound {
        key: k.clone(),
        channel: f.pnid.clone(),
        wamid: format!("wamid.many{i}"),
        at: night() + Duration::seconds(i),
        wa_id: Some(k.customer.clone()),
        user_id: None,
        name: Some("Ana".into()),
        settled: true,
    };
    let deliver = |ids: Vec<i64>| {
        stream::iter(ids)
            .map(|i| {
                let (m, store) = (message(i), f.store.clone());
                async move { store.record_inbound(&m).await.unwrap() }
            })
            .buffer_unordered(8)
            .collect::<Vec<IngestOutcome>>()
    };
    let outcomes = deliver((0..10_000).collect()).await;
    let count = |o: &[IngestOutcome], which| o.iter().filter(|x| **x == which).count();
    assert_eq!(count(&outcomes, IngestOutcome::Created), 1);
    assert_eq!(count(&outcomes, IngestOutcome::Added), 9_999);
    // Meta delivers every 20th again, long after: spilled, still known.
    let again = deliver((0..10_000).step_by(20).collect()).await;
    assert_eq!(count(&again, IngestOutcome::Duplicate), 500);
    let item = f.store.raw_record(&k).await.unwrap().unwrap();
    assert_eq!(item["msgCount"].as_n().unwrap(), "10000");
    assert!(
        !item.contains_key("wamids"),
        "no list of every wamid on the record"
    );
    let size: usize = item
        .iter()
        .map(|(k, v)| k.len() + format!("{v:?}").len())
        .sum();
    assert!(size < 2_000, "the record stays small: {size}");
}

#[tokio::test]
async fn a_customer_cannot_answer_another_customers_prompt() {
    let f = fixture().await;
    let (y, x) = ("5511999990111", "5511999990112");
    let body = messages_payload(
        &f.pnid,
        &[
            ("wamid.y1", y, night().timestamp(), Some("Yara")),
            ("wamid.x1", x, night().timestamp(), Some("Xavier")),
        ],
    );
    assert_eq!(f.post(&body).await.status, 200);
    let record_of = |recs: Vec<afterhours_adapters::model::ContactRecord>, who: &str| {
        recs.into_iter().find(|r| r.key.customer == who).unwrap()
    };
    let ys_prompt = record_of(f.records("a-1").await, y).prompt_wamid.unwrap();
    // X taps Yes quoting the prompt that went to Y: acknowledged, and nothing changes.
    let forged = tap(
        &f.pnid,
        x,
        &ys_prompt,
        YES_ID,
        night() + Duration::minutes(2),
        "wamid.forged",
    );
    assert_eq!(f.post(&forged).await.status, 200);
    let recs = f.records("a-1").await;
    assert_eq!(
        record_of(recs.clone(), y).requested_callback,
        RequestedCallback::Pending
    );
    assert_eq!(
        record_of(recs, x).requested_callback,
        RequestedCallback::Pending
    );
    // Y's own tap still counts.
    let own = tap(
        &f.pnid,
        y,
        &ys_prompt,
        YES_ID,
        night() + Duration::minutes(3),
        "wamid.own",
    );
    assert_eq!(f.post(&own).await.status, 200);
    assert_eq!(
        record_of(f.records("a-1").await, y).requested_callback,
        RequestedCallback::Yes
    );
}

#[tokio::test]
async fn a_foreign_tap_parked_before_the_prompts_bookkeeping_is_never_applied() {
    let f = fixture().await;
    let (y, x) = ("5511999990113", "5511999990114");
    // Y's record, whose prompt went out but whose bookkeeping was not stored.
    let k = RecordKey {
        tenant: f.tenant.clone(),
        agent: "a-1".into(),
        customer: y.into(),
        period: Utc
            .with_ymd_and_hms(2026, 11, 20, 21, 0, 0)
            .unwrap()
            .timestamp(),
    };
    f.store
        .record_inbound(&Inbound {
            key: k.clone(),
            channel: f.pnid.clone(),
            wamid: "wamid.y".into(),
            at: night(),
            wa_id: Some(y.into()),
            user_id: None,
            name: None,
            settled: false,
        })
        .await
        .unwrap();
    // Y taps No; then X, later, taps Yes on the same prompt: both parked.
    for (who, button, minute, id) in [(y, NO_ID, 2, "wamid.tap-y"), (x, YES_ID, 3, "wamid.tap-x")] {
        let t = tap(
            &f.pnid,
            who,
            "wamid.prompt-y",
            button,
            night() + Duration::minutes(minute),
            id,
        );
        assert_eq!(f.post(&t).await.status, 200);
    }
    // The prompt's status completes the bookkeeping: Y's own answer lands, X's never.
    let status = envelope(
        &f.pnid,
        json!({"statuses": [{"id": "wamid.prompt-y", "status": "delivered",
            "timestamp": (night().timestamp() + 60).to_string(), "recipient_id": y,
            "biz_opaque_callback_data": PromptTag::new(&k).encode()}]}),
    );
    assert_eq!(f.post(&status).await.status, 200);
    let rec = f.store.get_record(&k, night()).await.unwrap().unwrap();
    assert_eq!(rec.requested_callback, RequestedCallback::No);
    assert!(f
        .store
        .pending_callbacks(&f.tenant, night())
        .await
        .unwrap()
        .is_empty());
}
