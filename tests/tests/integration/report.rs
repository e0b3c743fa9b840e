//! The scheduled report against DynamoDB Local and the moto bus.

use afterhours_adapters::events::{entry_size, Publisher, MAX_ENTRY_BYTES};
use afterhours_adapters::lambda::fixed_clock;
use afterhours_adapters::model::{Inbound, RecordKey};
use afterhours_adapters::store::Store;
use afterhours_tests::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

fn night() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 2, 10, 0).unwrap()
}

/// One record of `agent` for `customer`, answered `answer` (None = no prompt).
async fn record(
    store: &Store,
    tenant: &str,
    agent: &str,
    customer: &str,
    minute: i64,
    answer: Option<bool>,
    name: Option<&str>,
) -> RecordKey {
    let k = RecordKey {
        tenant: tenant.into(),
        agent: agent.into(),
        customer: customer.into(),
        period: night().timestamp(),
    };
    let at = night() + Duration::minutes(minute);
    store
        .record_inbound(&Inbound {
            key: k.clone(),
            channel: "PN".into(),
            wamid: format!("w-{customer}"),
            at,
            wa_id: Some(customer.into()),
            user_id: None,
            name: name.map(String::from),
        })
        .await
        .unwrap();
    if let Some(yes) = answer {
        let prompt = format!("p-{tenant}-{customer}");
        store.mark_prompt_sent(&k, &prompt, at).await.unwrap();
        store
            .answer_callback(tenant, &prompt, yes, at + Duration::minutes(1))
            .await
            .unwrap();
    }
    k
}

struct ReportFixture {
    store: Store,
    deps: report::Deps,
    watcher: BusWatcher,
}

async fn report_fixture(now: DateTime<Utc>) -> ReportFixture {
    let store = fresh_store().await;
    let eb = eventbridge().await;
    let bus = unique("bus");
    let watcher = BusWatcher::start(&eb, &bus).await;
    let deps = report::Deps::new(store.clone(), Publisher::new(eb, bus), fixed_clock(now));
    ReportFixture {
        store,
        deps,
        watcher,
    }
}

#[tokio::test]
async fn the_report_lists_unanswered_callbacks_by_agent_with_exact_content() {
    let now = night() + Duration::hours(30);
    let r = report_fixture(now).await;
    r.store
        .put_settings(
            "t1",
            &json!({"timezone": "America/Sao_Paulo", "language": "pt_BR", "alwaysOpen": false,
        "notifyNextServiceHours": true, "businessHours": {"weekly": {}, "exceptions": []},
        "activeMessageLimit": {"enabled": true, "maxPerContactPer24h": 2}}),
        )
        .await
        .unwrap();
    let maria = record(
        &r.store,
        "t1",
        "a-1",
        "5511000000001",
        0,
        Some(true),
        Some("Maria"),
    )
    .await;
    record(&r.store, "t1", "a-1", "5511000000002", 5, Some(false), None).await;
    record(&r.store, "t1", "a-1", "5511000000003", 6, None, None).await;
    let sent = record(&r.store, "t1", "a-1", "5511000000004", 7, Some(true), None).await;
    afterhours_tests::mark_sent(
        &r.store,
        &sent,
        "a-1",
        ("t", "pt_BR"),
        "wamid.o",
        night() + Duration::hours(9),
    )
    .await
    .unwrap();
    let bob = record(&r.store, "t1", "a-2", "5511000000005", 10, Some(true), None).await;
    // Another tenant with nothing pending gets no event.
    r.store.put_settings("t2", &json!({"timezone": "UTC", "language": "en_US", "alwaysOpen": true, "notifyNextServiceHours": false,
        "businessHours": {"weekly": {}, "exceptions": []}, "activeMessageLimit": {"enabled": false, "maxPerContactPer24h": 2}})).await.unwrap();

    let summary = report::run(&r.deps).await;
    assert_eq!(
        (
            summary.tenants_scanned,
            summary.tenants_reported,
            summary.records,
            summary.events,
            summary.events_published
        ),
        (2, 1, 2, 1, 1)
    );
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let events = r.watcher.drain().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail-type"], "UnansweredCallbacksReport");
    assert_eq!(events[0]["source"], "afterhours");
    assert_eq!(
        events[0]["detail"],
        json!({
            "tenantId": "t1", "generatedAt": "2026-11-22T05:10:00-03:00", "timezone": "America/Sao_Paulo",
            "part": 1, "parts": 1, "totalCallbacks": 2, "callbacksInPart": 2,
            "agents": [
                {"agentId": "a-1", "count": 1, "callbacks": [{"id": maria.id(), "contact": "+5511000000001", "name": "Maria", "displayName": "Maria",
                  "contactDate": "2026-11-20T23:10:00-03:00", "expiresAt": "2026-11-27T23:10:00-03:00", "hoursLeft": 138.0}]},
                {"agentId": "a-2", "count": 1, "callbacks": [{"id": bob.id(), "contact": "+5511000000005", "name": null, "displayName": "(No name)",
                  "contactDate": "2026-11-20T23:20:00-03:00", "expiresAt": "2026-11-27T23:20:00-03:00", "hoursLeft": 138.2}]}
            ]
        })
    );
}

#[tokio::test]
async fn nothing_pending_means_no_event() {
    let r = report_fixture(night()).await;
    record(&r.store, "t1", "a-1", "5511", 0, Some(false), None).await;
    r.store.put_settings("t1", &json!({})).await.unwrap();
    let s = report::run(&r.deps).await;
    assert_eq!((s.tenants_scanned, s.events), (1, 0));
    assert!(r.watcher.drain().await.is_empty());
}

#[tokio::test]
async fn expired_callbacks_are_not_reported() {
    let r = report_fixture(night() + Duration::days(7) + Duration::minutes(1)).await;
    record(&r.store, "t1", "a-1", "5511", 0, Some(true), None).await;
    r.store.put_settings("t1", &json!({})).await.unwrap();
    assert_eq!(report::run(&r.deps).await.records, 0);
}

#[tokio::test]
async fn a_large_tenant_is_split_into_entries_under_the_limit() {
    let mut r = report_fixture(night() + Duration::hours(1)).await;
    r.deps.max_entry_bytes = 6 * 1024;
    for i in 0..60 {
        record(
            &r.store,
            "t1",
            &format!("a-{}", i % 3),
            &format!("55110000{i:05}"),
            i,
            Some(true),
            Some("A rather long customer name"),
        )
        .await;
    }
    r.store.put_settings("t1", &json!({})).await.unwrap();
    let s = report::run(&r.deps).await;
    assert!(s.events > 2, "{s:?}");
    assert_eq!(s.events_published, s.events);
    let events = r.watcher.drain().await;
    assert_eq!(events.len(), s.events);
    let mut total = 0;
    for e in &events {
        let ev = afterhours_adapters::events::Event {
            detail_type: "UnansweredCallbacksReport".into(),
            detail: e["detail"].clone(),
        };
        assert!(entry_size(&ev) <= 6 * 1024, "{}", entry_size(&ev));
        assert!(entry_size(&ev) <= MAX_ENTRY_BYTES);
        assert_eq!(e["detail"]["parts"], s.events);
        total += e["detail"]["callbacksInPart"].as_u64().unwrap();
    }
    assert_eq!(total, 60);
}

#[tokio::test]
async fn a_failed_entry_is_retried_and_a_lasting_failure_is_reported() {
    let r = report_fixture(night() + Duration::hours(1)).await;
    record(&r.store, "t1", "a-1", "5511", 0, Some(true), None).await;
    r.store.put_settings("t1", &json!({})).await.unwrap();
    let bus = crate::events::fails_once();
    let retried = report::Deps::new(
        r.store.clone(),
        crate::events::mocked_publisher(&bus),
        fixed_clock(night() + Duration::hours(1)),
    );
    let s = report::run(&retried).await;
    assert_eq!((s.events, s.events_published), (1, 1));
    assert!(s.failures.is_empty());
    assert_eq!(bus.num_calls(), 2, "published once, after the retry");
    // A bus that does not exist fails every attempt: reported, not hidden.
    let broken = report::Deps::new(
        r.store.clone(),
        Publisher::new(eventbridge().await, unique("missing-bus")),
        fixed_clock(night()),
    );
    let s = report::run(&broken).await;
    assert_eq!(s.events_published, 0);
    assert_eq!(s.failures.len(), 1, "{s:?}");
}
