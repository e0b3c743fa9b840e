//! What a send keeps in the store, against DynamoDB Local: the cap counter
//! under concurrency and across 24 hours, and idempotency keys.

use afterhours_adapters::model::StoredResponse;
use afterhours_adapters::store::{IdempotencyClaim, Reservation};
use afterhours_tests::{fresh_store, unique};
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;

use crate::store::{n, t0};

#[tokio::test]
async fn thirty_two_concurrent_reservations_with_three_slots_give_exactly_three() {
    let store = fresh_store().await;
    let now = t0();
    let results = join_all((0..32).map(|_| store.reserve("t1", "a-1", "5511", 3, now, None))).await;
    let granted: Vec<_> = results
        .into_iter()
        .map(Result::unwrap)
        .filter_map(Reservation::granted)
        .collect();
    assert_eq!(granted.len(), 3);
    let c = store.read_counter("t1", "a-1", "5511").await.unwrap();
    assert_eq!(c.sends.len(), 3);
    // Release gives one back; the next reservation gets it.
    store
        .release("t1", "a-1", "5511", &granted[0].token)
        .await
        .unwrap();
    assert_eq!(
        store
            .read_counter("t1", "a-1", "5511")
            .await
            .unwrap()
            .sends
            .len(),
        2
    );
    let later = now + Duration::minutes(30);
    let slot = store
        .reserve("t1", "a-1", "5511", 3, later, None)
        .await
        .unwrap()
        .granted()
        .unwrap();
    assert_eq!(slot.quota_after.used, 3);
    // Full: refused with the oldest counted send + 24 h.
    let q = store
        .reserve("t1", "a-1", "5511", 3, later, None)
        .await
        .unwrap()
        .refused()
        .unwrap();
    assert_eq!(q.available_at, Some(now + Duration::hours(24)));
    assert_eq!(
        q.retry_after_seconds,
        (Duration::hours(24) - Duration::minutes(30)).num_seconds()
    );
    // Other agents, customers and tenants have their own counters.
    assert!(store
        .reserve("t1", "a-2", "5511", 3, later, None)
        .await
        .unwrap()
        .is_granted());
    assert!(store
        .reserve("t2", "a-1", "5511", 3, later, None)
        .await
        .unwrap()
        .is_granted());
}

#[tokio::test]
async fn sends_older_than_24_hours_no_longer_count() {
    let store = fresh_store().await;
    for _ in 0..2 {
        store
            .reserve("t1", "a-1", "c", 2, t0(), None)
            .await
            .unwrap()
            .granted()
            .unwrap();
    }
    assert!(store
        .reserve("t1", "a-1", "c", 2, t0() + Duration::hours(23), None)
        .await
        .unwrap()
        .refused()
        .is_some());
    let next_day = t0() + Duration::hours(24);
    let q = store
        .quotas("t1", &[("a-1".into(), "c".into())], 2, next_day)
        .await
        .unwrap();
    assert_eq!(q[&("a-1".to_string(), "c".to_string())].used, 0);
    assert!(store
        .reserve("t1", "a-1", "c", 2, next_day, None)
        .await
        .unwrap()
        .is_granted());
    let c = store.read_counter("t1", "a-1", "c").await.unwrap();
    assert_eq!(
        c.sends.len(),
        1,
        "expired entries are dropped on the next write"
    );
    let item = store.raw_item("Q#t1#a-1#c", "Q").await.unwrap().unwrap();
    assert!(
        n(&item, "expiresAt") > next_day.timestamp(),
        "TTL removes the counter once idle"
    );
}

#[tokio::test]
async fn idempotency_keys_are_claimed_once_and_tied_to_the_body() {
    let store = fresh_store().await;
    let pk = afterhours_adapters::store::keys::idempotency_pk("t1", "a-1", &unique("k"));
    assert_eq!(
        store
            .claim_idempotency(&pk, "h1", t0(), hold())
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );
    assert_eq!(
        store
            .claim_idempotency(&pk, "h1", t0(), hold())
            .await
            .unwrap(),
        IdempotencyClaim::InProgress
    );
    assert_eq!(
        store
            .claim_idempotency(&pk, "h2", t0(), hold())
            .await
            .unwrap(),
        IdempotencyClaim::Mismatch
    );
    store
        .complete_idempotency(&StoredResponse {
            pk: &pk,
            status: 200,
            body: r#"{"ok":1}"#,
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_idempotency(&pk, "h1", t0(), hold())
            .await
            .unwrap(),
        IdempotencyClaim::Done {
            status: 200,
            body: r#"{"ok":1}"#.into()
        }
    );
    // After 24 h the key may be used again.
    assert_eq!(
        store
            .claim_idempotency(&pk, "h2", t0() + Duration::hours(25), hold())
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );
    store.drop_idempotency(&pk).await.unwrap();
    assert_eq!(
        store
            .claim_idempotency(&pk, "h3", t0(), hold())
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );
}

fn hold() -> Duration {
    Duration::seconds(20)
}

#[tokio::test]
async fn a_key_held_by_a_request_that_stopped_is_free_once_its_hold_ends() {
    let store = fresh_store().await;
    let pk = afterhours_adapters::store::keys::idempotency_pk("t1", "a-1", &unique("k"));
    let claim = |at: DateTime<Utc>| store.claim_idempotency(&pk, "h1", at, hold());
    assert_eq!(claim(t0()).await.unwrap(), IdempotencyClaim::Claimed);
    // The request crashed before any answer: the key is held only until its hold ends.
    assert_eq!(
        claim(t0() + Duration::seconds(19)).await.unwrap(),
        IdempotencyClaim::InProgress
    );
    assert_eq!(
        claim(t0() + Duration::seconds(21)).await.unwrap(),
        IdempotencyClaim::Claimed
    );
    // A final answer is kept for the day, whatever the hold.
    store
        .complete_idempotency(&StoredResponse {
            pk: &pk,
            status: 504,
            body: "{}",
        })
        .await
        .unwrap();
    assert_eq!(
        claim(t0() + Duration::hours(2)).await.unwrap(),
        IdempotencyClaim::Done {
            status: 504,
            body: "{}".into()
        }
    );
}
