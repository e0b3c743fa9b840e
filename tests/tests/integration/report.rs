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
            settled: false,
        })
        .await
        .unwrap();
    if let Some(yes) = answer {
        let prompt = format!("p-{tenant}-{customer}");
        store.mark_prompt_sent(&k, &prompt, at).await.unwrap();
        store
            .answer_callback(&afterhours_adapters::model::Tap {
                tenant,
                customer,
                prompt_wamid: &prompt,
                yes,
                at: at + Duration::minutes(1),
            })
            .await
            .unwrap();
    }
    k
}

/// A whole run in one invocation.
async fn run_all(deps: &report::Deps) -> report::Summary {
    report::run(
        deps,
        &report::RunInput::default(),
        &report::Budget::unlimited(),
    )
    .await
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

    let summary = run_all(&r.deps).await;
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
            "reportId": "t1/2026-11-22",
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
    let s = run_all(&r.deps).await;
    assert_eq!((s.tenants_scanned, s.events), (1, 0));
    assert!(r.watcher.drain().await.is_empty());
}

#[tokio::test]
async fn expired_callbacks_are_not_reported() {
    let r = report_fixture(night() + Duration::days(7) + Duration::minutes(1)).await;
    record(&r.store, "t1", "a-1", "5511", 0, Some(true), None).await;
    r.store.put_settings("t1", &json!({})).await.unwrap();
    let s = run_all(&r.deps).await;
    // The tenant was read, found nothing to report, and nothing failed.
    assert_eq!(
        (s.tenants_scanned, s.records, s.events, s.failures.len()),
        (1, 0, 0, 0),
        "{s:?}"
    );
    assert!(s.failed_tenants.is_empty(), "{s:?}");
    assert!(r.watcher.drain().await.is_empty());
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
    let s = run_all(&r.deps).await;
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
    let s = run_all(&retried).await;
    assert_eq!((s.events, s.events_published), (1, 1));
    assert!(s.failures.is_empty());
    assert_eq!(bus.num_calls(), 2, "published once, after the retry");
    // A bus that does not exist fails every attempt: reported, not hidden.
    let broken = report::Deps::new(
        r.store.clone(),
        Publisher::new(eventbridge().await, unique("missing-bus")),
        fixed_clock(night()),
    );
    let s = run_all(&broken).await;
    assert_eq!(s.events_published, 0);
    assert_eq!(s.failures.len(), 1, "{s:?}");
    assert_eq!(s.failed_tenants, ["t1"]);
    assert!(
        s.error().unwrap().contains("t1"),
        "the invocation fails naming the tenant"
    );
}

/// Three tenants, each with one pending callback.
async fn three_tenants(store: &Store) {
    for (i, t) in ["t1", "t2", "t3"].into_iter().enumerate() {
        record(
            store,
            t,
            "a-1",
            &format!("551100000000{i}"),
            0,
            Some(true),
            None,
        )
        .await;
        store.put_settings(t, &json!({})).await.unwrap();
    }
}

#[tokio::test]
async fn a_run_out_of_time_hands_the_rest_to_a_fresh_invocation() {
    let r = report_fixture(night() + Duration::hours(1)).await;
    three_tenants(&r.store).await;
    // Time is up at once: every invocation still reports one tenant, then hands off.
    let mut input = report::RunInput::default();
    let mut reported = Vec::new();
    for _ in 0..3 {
        let s = report::run(
            &r.deps,
            &input,
            &report::Budget::until(std::time::Instant::now()),
        )
        .await;
        assert_eq!(s.tenants_scanned, 1);
        report::hand_off(&r.deps, &s).await.unwrap();
        let events = r.watcher.drain().await;
        let (reports, next): (Vec<_>, Vec<_>) = events
            .into_iter()
            .partition(|e| e["detail-type"] == report::DETAIL_TYPE);
        reported.extend(
            reports
                .iter()
                .map(|e| e["detail"]["reportId"].as_str().unwrap().to_string()),
        );
        match next.first() {
            Some(continuation) => {
                assert_eq!(
                    continuation["detail-type"],
                    report::CONTINUATION_DETAIL_TYPE
                );
                input = r
                    .deps
                    .continuations
                    .input_of(continuation, night() + Duration::hours(1))
                    .unwrap();
            }
            None => {
                assert_eq!(s.continue_after, None);
                break;
            }
        }
    }
    assert_eq!(
        reported,
        ["t1/2026-11-21", "t2/2026-11-21", "t3/2026-11-21"]
    );
}

#[tokio::test]
async fn a_tenant_that_fails_does_not_stop_the_others() {
    use aws_sdk_eventbridge::operation::put_events::{PutEventsError, PutEventsOutput};
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    let r = report_fixture(night() + Duration::hours(1)).await;
    three_tenants(&r.store).await;
    let t2 = |req: &aws_sdk_eventbridge::operation::put_events::PutEventsInput| {
        req.entries()
            .iter()
            .any(|e| e.detail().is_some_and(|d| d.contains("\"t2\"")))
    };
    let refuse = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(move |req| t2(req))
        .sequence()
        .error(|| PutEventsError::unhandled("InternalException"))
        .repeatedly()
        .build();
    let accept = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(move |req| !t2(req))
        .sequence()
        .output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(0)
                .entries(PutEventsResultEntry::builder().event_id("e").build())
                .build()
        })
        .repeatedly()
        .build();
    let deps = report::Deps::new(
        r.store.clone(),
        Publisher::new(
            mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&refuse, &accept]),
            "bus",
        ),
        fixed_clock(night() + Duration::hours(1)),
    );
    let s = run_all(&deps).await;
    assert_eq!(s.tenants_scanned, 3);
    assert_eq!(s.failed_tenants, ["t2"]);
    assert_eq!(accept.num_calls(), 2, "t1 and t3 were published");
    assert!(s.error().unwrap().contains("t2"));
}

/// A tenant's pending callbacks with long names (what makes reports big).
fn big_report(n: usize) -> Vec<afterhours_adapters::events::Event> {
    let now = night() + Duration::hours(30);
    let name = "Maria Aparecida dos Santos Albuquerque de Oliveira ".repeat(6);
    let records: Vec<afterhours_adapters::model::ContactRecord> = (0..n)
        .map(|i| afterhours_adapters::model::ContactRecord {
            key: RecordKey {
                tenant: "t-big".into(),
                agent: format!("agent-with-a-long-identifier-{}", i % 40),
                customer: format!("55119{i:08}"),
                period: 1,
            },
            channel: "PN".into(),
            wa_id: Some(format!("55119{i:08}")),
            user_id: None,
            name: Some(name.clone()),
            first_at: night(),
            last_at: night(),
            message_count: 1,
            expires_at: night() + Duration::days(7),
            requested_callback: afterhours_rules::callback::RequestedCallback::Yes,
            prompt_wamid: None,
            message_sent: false,
            sent_by: None,
            sent_at: None,
            sent_template: None,
            sent_wamid: None,
            delivery: None,
            handled: None,
        })
        .collect();
    report::tenant_events(
        "t-big",
        chrono_tz::America::Sao_Paulo,
        &records,
        now,
        MAX_ENTRY_BYTES,
    )
}

#[test]
fn every_request_for_reports_of_1_to_20000_callbacks_fits_in_256_kb() {
    use afterhours_adapters::events::{batches, MAX_REQUEST_BYTES, MAX_REQUEST_ENTRIES};
    for n in [1, 10, 500, 5_000, 20_000] {
        let events = big_report(n);
        let refs: Vec<_> = events.iter().collect();
        let requests = batches(&refs);
        let largest = requests
            .iter()
            .map(|r| r.iter().map(|e| entry_size(e)).sum::<usize>())
            .max()
            .unwrap();
        eprintln!(
            "{n} callbacks: {} events in {} requests, largest {largest} bytes",
            events.len(),
            requests.len()
        );
        assert!(largest <= MAX_REQUEST_BYTES, "{n}: {largest}");
        assert!(requests.iter().all(|r| r.len() <= MAX_REQUEST_ENTRIES));
        assert!(events.iter().all(|e| entry_size(e) <= MAX_ENTRY_BYTES));
        let total: u64 = events
            .iter()
            .map(|e| e.detail["callbacksInPart"].as_u64().unwrap())
            .sum();
        assert_eq!(total as usize, n);
    }
}

#[tokio::test]
async fn a_service_that_refuses_oversized_requests_gets_none_from_a_20000_callback_report() {
    use aws_sdk_eventbridge::operation::put_events::{
        PutEventsError, PutEventsInput, PutEventsOutput,
    };
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    // AWS counts Time (14 bytes) and the UTF-8 bytes of Source, DetailType and Detail.
    fn size(req: &PutEventsInput) -> usize {
        req.entries()
            .iter()
            .map(|e| {
                14 + e.source().map_or(0, str::len)
                    + e.detail_type().map_or(0, str::len)
                    + e.detail().map_or(0, str::len)
            })
            .sum()
    }
    let oversized = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|r| size(r) > 256 * 1024)
        .sequence()
        .error(|| {
            PutEventsError::unhandled(
                "ValidationException: Total size of the entries in the request is over the limit.",
            )
        })
        .repeatedly()
        .build();
    let accepted = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|r| size(r) <= 256 * 1024)
        .sequence()
        .output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(0)
                .set_entries(Some(vec![
                    PutEventsResultEntry::builder()
                        .event_id("e")
                        .build();
                    10
                ]))
                .build()
        })
        .repeatedly()
        .build();
    let publisher = Publisher::new(
        mock_client!(
            aws_sdk_eventbridge,
            RuleMode::MatchAny,
            [&oversized, &accepted]
        ),
        "bus",
    );
    let events = big_report(20_000);
    let out = publisher.publish(&events).await;
    assert_eq!(oversized.num_calls(), 0, "no request over 256 KB");
    assert_eq!(out.published, events.len());
    assert!(out.failed.is_empty());
}

#[tokio::test]
async fn a_continuation_put_on_the_bus_by_anyone_else_starts_nothing() {
    let r = report_fixture(night() + Duration::hours(1)).await;
    three_tenants(&r.store).await;
    let s = report::run(
        &r.deps,
        &report::RunInput::default(),
        &report::Budget::until(std::time::Instant::now()),
    )
    .await;
    report::hand_off(&r.deps, &s).await.unwrap();
    let genuine = r
        .watcher
        .drain()
        .await
        .into_iter()
        .find(|e| e["detail-type"] == report::CONTINUATION_DETAIL_TYPE)
        .expect("the run handed its rest on");
    let now = night() + Duration::hours(1);
    let keys = &r.deps.continuations;
    assert_eq!(
        keys.input_of(&genuine, now).unwrap().after.as_deref(),
        Some("t1")
    );
    let refused = |ev: &serde_json::Value, at| keys.input_of(ev, at).map_err(|e| e.0);
    // Forged by another sender: no signature, another key, or a changed cursor.
    let mut unsigned = genuine.clone();
    unsigned["detail"]
        .as_object_mut()
        .unwrap()
        .remove("signature");
    let other_key = report::Continuations::new(b"someone else's key").sign(report::RunInput {
        after: None,
        started_at: Some(now),
    });
    let mut forged = genuine.clone();
    forged["detail"] = other_key;
    let mut moved = genuine.clone();
    moved["detail"]["after"] = json!("t0");
    let mut restarted = genuine.clone();
    restarted["detail"]["startedAt"] = json!((now - Duration::minutes(1)).to_rfc3339());
    assert_eq!(
        refused(&unsigned, now),
        Err("not a continuation of this function")
    );
    for ev in [&forged, &moved, &restarted] {
        assert_eq!(refused(ev, now), Err("bad signature"), "{ev}");
    }
    // Replayed the next day: that run is over.
    assert_eq!(
        refused(&genuine, now + Duration::days(1)),
        Err("a run that is not under way")
    );
}

#[tokio::test]
async fn a_handled_callback_and_a_tenant_in_24_7_mode_are_left_out() {
    let r = report_fixture(night() + Duration::hours(30)).await;
    let open = |always_open: bool| {
        json!({"timezone": "America/Sao_Paulo", "language": "pt_BR", "alwaysOpen": always_open,
            "notifyNextServiceHours": true, "businessHours": {"weekly": {}, "exceptions": []},
            "activeMessageLimit": {"enabled": false, "maxPerContactPer24h": 2}})
    };
    r.store.put_settings("t1", &open(false)).await.unwrap();
    r.store.put_settings("t2", &open(true)).await.unwrap();
    let phoned = record(&r.store, "t1", "a-1", "5511000000001", 0, Some(true), None).await;
    let waiting = record(&r.store, "t1", "a-1", "5511000000002", 1, Some(true), None).await;
    record(&r.store, "t2", "a-1", "5511000000003", 2, Some(true), None).await;
    let marked = r
        .store
        .mark_handled(
            &phoned,
            "a-1",
            Some("phoned"),
            night() + Duration::hours(10),
        )
        .await
        .unwrap()
        .expect("a live record");
    assert_eq!(marked.handled.unwrap().note.as_deref(), Some("phoned"));

    let s = run_all(&r.deps).await;
    assert_eq!(
        (s.tenants_scanned, s.tenants_reported, s.records),
        (2, 1, 1)
    );
    let events = r.watcher.drain().await;
    assert_eq!(events.len(), 1);
    let callbacks = &events[0]["detail"]["agents"][0]["callbacks"];
    assert_eq!(callbacks.as_array().unwrap().len(), 1);
    assert_eq!(callbacks[0]["id"], waiting.id().as_str());
}
