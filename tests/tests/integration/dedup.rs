//! A message counted once by the record's own memory (one conditional write
//! when nothing that picks its record changed since it was written), and by
//! the `wamid` claim with marks on the customer's other records otherwise;
//! against DynamoDB Local.

use afterhours_adapters::model::{Inbound, IngestOutcome, RecordKey};
use afterhours_adapters::store::Store;
use afterhours_local::capacity::CapacityMeter;
use afterhours_tests::*;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Duration;

use crate::store::{inbound, key, n, t0};
use crate::webhook::{fixture, night, settings, Fixture};

const PHONE: &str = "5511999990301";

/// The fixture's tenant as set up a month before its night.
pub(crate) async fn set_up_long_ago(f: &Fixture) {
    set_up_at(&f.store, &f.tenant, &f.pnid, night() - Duration::days(30))
        .await
        .expect("date the set-up back");
}

/// A message of the fixture's customer, `minutes` after the night began.
fn message(f: &Fixture, wamid: &str, minutes: i64) -> Vec<u8> {
    let at = (night() + Duration::minutes(minutes)).timestamp();
    messages_payload(&f.pnid, &[(wamid, PHONE, at, None)])
}

fn record_key(f: &Fixture, agent: &str) -> RecordKey {
    RecordKey {
        tenant: f.tenant.clone(),
        agent: agent.into(),
        customer: PHONE.into(),
        // The closed period's start: Friday 18:00 in São Paulo.
        period: chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 20, 21, 0, 0)
            .unwrap()
            .timestamp(),
    }
}

async fn count(store: &Store, k: &RecordKey) -> Option<i64> {
    let item = store.raw_record(k).await.unwrap()?;
    Some(n(&item, "msgCount"))
}

#[tokio::test]
async fn a_message_of_a_known_night_costs_at_most_three_write_units_and_counts_once() {
    let f = fixture().await;
    set_up_long_ago(&f).await;
    let meter = CapacityMeter::default();
    let deps = webhook::Deps::new(
        Store::new(meter.client(f.store.client()), f.store.table()),
        f.graph.client(),
        APP_SECRET,
        "v",
        afterhours_adapters::lambda::fixed_clock(night() + Duration::minutes(30)),
    );
    let post = |body: Vec<u8>| {
        let deps = &deps;
        async move { webhook::handle(deps, webhook_post(&body)).await.status }
    };
    assert_eq!(post(message(&f, "wamid.d1", 0)).await, 200);
    meter.take();
    assert_eq!(post(message(&f, "wamid.d2", 1)).await, 200);
    let units = meter.take();
    assert!(units.write > 0.0 && units.write <= 3.0, "{units:?}");
    assert_eq!(units.requests, 2, "one read, one write");
    // Meta delivers it again: the record's memory refuses it, no claim needed.
    assert_eq!(post(message(&f, "wamid.d2", 1)).await, 200);
    assert_eq!(count(&f.store, &record_key(&f, "a-1")).await, Some(2));
    let claim = format!("M#{}#wamid.d2", f.pnid);
    assert!(f.store.raw_item(&claim, "M").await.unwrap().is_none());
}

#[tokio::test]
async fn a_retry_after_another_agent_wrote_to_the_customer_changes_nothing() {
    let f = fixture().await;
    set_up_long_ago(&f).await;
    assert_eq!(f.post(&message(&f, "wamid.a1", 0)).await.status, 200);
    assert_eq!(f.post(&message(&f, "wamid.a2", 5)).await.status, 200);
    let ka = record_key(&f, "a-1");
    assert_eq!(count(&f.store, &ka).await, Some(2));
    // a-2 answers from a-1's list in the morning: the customer is a-2's now.
    mark_sent(
        &f.store,
        &ka,
        "a-2",
        ("retorno", "pt_BR"),
        "wamid.out",
        night() + Duration::hours(9),
    )
    .await
    .unwrap();
    assert_eq!(f.post(&message(&f, "wamid.a2", 5)).await.status, 200);
    assert_eq!(count(&f.store, &ka).await, Some(2));
    assert_eq!(count(&f.store, &record_key(&f, "a-2")).await, None);
    // A new message is a-2's.
    assert_eq!(f.post(&message(&f, "wamid.a3", 3)).await.status, 200);
    assert_eq!(count(&f.store, &record_key(&f, "a-2")).await, Some(1));
    assert_eq!(count(&f.store, &ka).await, Some(2));
}

#[tokio::test]
async fn a_retry_after_the_settings_changed_changes_nothing() {
    let f = fixture().await;
    set_up_long_ago(&f).await;
    assert_eq!(f.post(&message(&f, "wamid.s1", 0)).await.status, 200);
    assert_eq!(f.post(&message(&f, "wamid.s2", 5)).await.status, 200);
    // Fridays now close at 23:00: the same message falls in a period that
    // starts later, on another record.
    let mut doc = settings(true, false);
    doc["businessHours"]["weekly"]["fri"] = serde_json::json!([["08:00", "23:00"]]);
    f.store.put_settings(&f.tenant, &doc).await.unwrap();
    // Another instance, which reads the new settings.
    let fresh = webhook::Deps::new(
        f.store.clone(),
        f.graph.client(),
        APP_SECRET,
        "v",
        afterhours_adapters::lambda::fixed_clock(night() + Duration::minutes(30)),
    );
    let again = webhook::handle(&fresh, webhook_post(&message(&f, "wamid.s2", 5))).await;
    assert_eq!(again.status, 200);
    let recs = f.records("a-1").await;
    assert_eq!(recs.len(), 1, "no second record for the same message");
    assert_eq!(recs[0].message_count, 2);
}

fn direct(k: &RecordKey, wamid: &str, minutes: i64, settled: bool) -> Inbound {
    Inbound {
        settled,
        ..inbound(k, wamid, t0() + Duration::minutes(minutes), None)
    }
}

#[tokio::test]
async fn a_claim_marks_the_record_a_late_delivery_would_still_count_it_on() {
    let store = fresh_store().await;
    let ka = key("t1", "a-1", "5511");
    let kb = key("t1", "a-2", "5511");
    let first = direct(&ka, "w0", 0, true);
    assert_eq!(
        store.record_inbound(&first).await.unwrap(),
        IngestOutcome::Created
    );
    // The customer changed hands: this delivery goes to a-2's record and
    // marks a-1's, which an instance that has not seen the change still names.
    let m = direct(&kb, "w1", 1, false);
    assert_eq!(
        store.record_inbound(&m).await.unwrap(),
        IngestOutcome::Created
    );
    let late = direct(&ka, "w1", 1, true);
    assert_eq!(
        store.record_inbound(&late).await.unwrap(),
        IngestOutcome::Duplicate
    );
    assert_eq!(count(&store, &ka).await, Some(1));
    assert_eq!(count(&store, &kb).await, Some(1));
}

#[tokio::test]
async fn a_message_counted_by_one_write_is_found_by_a_claimed_delivery_elsewhere() {
    let store = fresh_store().await;
    let ka = key("t1", "a-1", "5511");
    let kb = key("t1", "a-2", "5511");
    for (i, w) in ["w0", "w1"].iter().enumerate() {
        store
            .record_inbound(&direct(&ka, w, i as i64, true))
            .await
            .unwrap();
    }
    let retry = direct(&kb, "w1", 1, false);
    assert_eq!(
        store.record_inbound(&retry).await.unwrap(),
        IngestOutcome::Duplicate
    );
    assert_eq!(count(&store, &ka).await, Some(2));
    assert_eq!(count(&store, &kb).await, None, "no record opened for it");
}

#[tokio::test]
async fn spilled_fingerprints_still_count_each_message_once() {
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    for i in 0..40 {
        let m = direct(&k, &format!("w{i}"), i, true);
        let expected = if i == 0 {
            IngestOutcome::Created
        } else {
            IngestOutcome::Added
        };
        assert_eq!(store.record_inbound(&m).await.unwrap(), expected, "w{i}");
    }
    let item = store.raw_record(&k).await.unwrap().unwrap();
    assert_eq!(n(&item, "spillSeq"), 1);
    assert_eq!(item["seen"].as_bs().unwrap().len(), 8);
    let pk = item["PK"].as_s().unwrap();
    let sk = item["SK"].as_s().unwrap();
    let bucket = store
        .raw_item(pk, &format!("{sk}#S1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bucket["seen"].as_bs().unwrap().len(), 32);
    // A spilled message delivered again, both ways.
    for settled in [true, false] {
        let again = direct(&k, "w3", 3, settled);
        assert_eq!(
            store.record_inbound(&again).await.unwrap(),
            IngestOutcome::Duplicate
        );
    }
    // A first delivery older than the spilled ones: counted, then known.
    let late = direct(&k, "late", 2, true);
    assert_eq!(
        store.record_inbound(&late).await.unwrap(),
        IngestOutcome::Added
    );
    assert_eq!(
        store.record_inbound(&late).await.unwrap(),
        IngestOutcome::Duplicate
    );
    assert_eq!(count(&store, &k).await, Some(41));
}

#[tokio::test]
async fn a_record_written_before_records_remembered_their_messages_counts_by_claims() {
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    store
        .record_inbound(&direct(&k, "w0", 0, true))
        .await
        .unwrap();
    // As the previous version left it: no memory, not in the customer index.
    let item = store.raw_record(&k).await.unwrap().unwrap();
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", item["PK"].clone())
        .key("SK", item["SK"].clone())
        .update_expression("REMOVE seen, GSI2PK, GSI2SK")
        .send()
        .await
        .unwrap();
    let m = direct(&k, "w1", 1, true);
    assert_eq!(
        store.record_inbound(&m).await.unwrap(),
        IngestOutcome::Added
    );
    assert!(
        store.raw_item("M#PN1#w1", "M").await.unwrap().is_some(),
        "claimed"
    );
    assert_eq!(
        store.record_inbound(&m).await.unwrap(),
        IngestOutcome::Duplicate
    );
    assert_eq!(count(&store, &k).await, Some(2));
    let after = store.raw_record(&k).await.unwrap().unwrap();
    assert!(!after.contains_key("GSI2PK"));
    assert!(matches!(after.get("seen"), Some(AttributeValue::Bs(_))));
}
