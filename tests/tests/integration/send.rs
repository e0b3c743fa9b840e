//! Sending active messages against DynamoDB Local, the moto bus and the
//! WhatsApp sandbox: every refusal, the cap under concurrency, Meta's
//! refusals, timeouts, idempotency and the event on the bus.

use std::time::Duration as StdDuration;

use afterhours_adapters::events::Publisher;
use afterhours_adapters::graph::GraphClient;
use afterhours_adapters::http::ApiResponse;
use afterhours_adapters::lambda::fixed_clock;
use afterhours_tests::*;
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use serde_json::{json, Value};

use crate::app::TestApp;
use crate::webhook::{fixture_with, night, settings, Fixture};
use afterhours_tests::meta_templates;

pub fn deps_at(
    f: &Fixture,
    bus: &str,
    eb: aws_sdk_eventbridge::Client,
    now: DateTime<Utc>,
) -> send::Deps {
    send::Deps {
        rules: Default::default(),
        store: f.store.clone(),
        graph: f.graph.client(),
        events: Publisher::new(eb, bus),
        clock: fixed_clock(now),
    }
}

/// Send deps whose bus does not matter to the test.
pub fn deps_for(f: &Fixture) -> send::Deps {
    send::Deps {
        rules: Default::default(),
        store: f.store.clone(),
        graph: f.graph.client(),
        events: Publisher::new(
            aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::Config::builder()
                    .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
                    .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
                    .endpoint_url("http://127.0.0.1:9")
                    .http_client(afterhours_adapters::tls::aws_https_client(None).unwrap())
                    .build(),
            ),
            "unused",
        ),
        clock: fixed_clock(night() + Duration::hours(9)),
    }
}

pub struct SendFixture {
    pub f: Fixture,
    pub record_id: String,
    pub phone: String,
    pub bus: String,
    pub eb: aws_sdk_eventbridge::Client,
}

/// A tenant with templates, one night contact of a-1 who tapped Yes.
pub async fn send_fixture(cap: Option<u32>) -> SendFixture {
    let mut s = settings(true, false);
    match cap {
        Some(x) => s["activeMessageLimit"] = json!({"enabled": true, "maxPerContactPer24h": x}),
        None => s["activeMessageLimit"] = json!({"enabled": false, "maxPerContactPer24h": 2}),
    }
    let f = fixture_with(s, night() + Duration::minutes(1)).await;
    f.store
        .put_templates(&f.tenant, &meta_templates())
        .await
        .unwrap();
    let phone = format!("55119{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000);
    f.post(&messages_payload(
        &f.pnid,
        &[("wamid.n1", &phone, night().timestamp(), Some("Maria"))],
    ))
    .await;
    let rec = f.records("a-1").await.remove(0);
    f.store
        .answer_callback(&afterhours_adapters::model::Tap {
            tenant: &f.tenant,
            customer: &rec.key.customer,
            prompt_wamid: rec.prompt_wamid.as_deref().unwrap(),
            yes: true,
            at: night(),
        })
        .await
        .unwrap();
    let eb = eventbridge().await;
    SendFixture {
        record_id: rec.key.id(),
        phone,
        bus: unique("bus"),
        eb,
        f,
    }
}

pub fn body() -> Value {
    json!({"template": {"name": "retorno", "language": "pt_BR"}, "variables": {"1": "Maria", "2": "ontem"}})
}

impl SendFixture {
    pub fn deps(&self, now: DateTime<Utc>) -> send::Deps {
        deps_at(&self.f, &self.bus, self.eb.clone(), now)
    }

    /// The app over this fixture, sending with `deps`.
    pub fn app<'d>(&self, deps: &'d send::Deps) -> TestApp<'d> {
        TestApp::new(&self.f).sending_with(deps)
    }

    /// The send times a-1's counter holds for this customer.
    pub async fn counted_sends(&self) -> Vec<(DateTime<Utc>, String)> {
        self.f
            .store
            .read_counter(&self.f.tenant, "a-1", &self.phone)
            .await
            .unwrap()
            .sends
    }

    pub fn templates_sent(&self) -> Vec<Value> {
        self.f
            .graph
            .sent_to(&self.phone)
            .into_iter()
            .filter(|m| m["body"]["type"] == "template")
            .collect()
    }
}

pub fn code(r: &ApiResponse) -> String {
    r.json_body()["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn a_valid_send_goes_out_marks_the_record_and_reaches_the_bus() {
    let s = send_fixture(Some(2)).await;
    let watcher = BusWatcher::start(&s.eb, &s.bus).await;
    let now = night() + Duration::hours(9);
    let r = s
        .app(&s.deps(now))
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let b = r.json_body();
    assert!(b["messageId"].as_str().unwrap().starts_with("wamid."));
    assert_eq!(b["sentAt"], "2026-11-21T08:10:00-03:00");
    assert_eq!(b["quota"]["used"], 1);
    assert_eq!(b["quota"]["remaining"], 1);
    let sent = s.templates_sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["problems"].as_array().unwrap().is_empty());
    assert_eq!(
        sent[0]["body"]["template"]["components"],
        json!([{"type": "body", "parameters": [{"type": "text", "text": "Maria"}, {"type": "text", "text": "ontem"}]}])
    );
    let rec = s.f.records("a-1").await.remove(0);
    assert!(rec.message_sent);
    assert_eq!(rec.sent_wamid.as_deref(), b["messageId"].as_str());
    assert!(s
        .f
        .store
        .pending_callbacks(&s.f.tenant, now)
        .await
        .unwrap()
        .is_empty());
    let events = watcher.drain().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "ActiveMessageSent");
    assert_eq!(events[0]["source"], "afterhours");
    assert_eq!(events[0]["detail"]["messageId"], b["messageId"]);
    assert_eq!(events[0]["detail"]["tenantId"], s.f.tenant.as_str());
}

#[tokio::test]
async fn refusals_come_in_the_specs_order_and_send_nothing() {
    let s = send_fixture(Some(2)).await;
    let d = s.deps(night() + Duration::hours(9));
    let app = s.app(&d);
    let agent = app.as_agent("a-1");
    let r = app
        .as_agent("a-2")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!((r.status.as_u16(), code(&r)), (403, "forbidden".into()));
    let other = app
        .as_supervisor("a-1")
        .send_to_contact("bm9wZQ", &body(), None)
        .await;
    assert_eq!(other.status.as_u16(), 404);
    let pending =
        json!({"template": {"name": "promo", "language": "pt_BR"}, "variables": {"1": "x"}});
    let r = agent.send_to_contact(&s.record_id, &pending, None).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (422, "template_not_approved".into())
    );
    assert!(r.json_body()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("PENDING"));
    let unknown = json!({"template": {"name": "retorno", "language": "en_US"}, "variables": {}});
    assert_eq!(
        code(&agent.send_to_contact(&s.record_id, &unknown, None).await),
        "template_not_approved"
    );
    let bad_vars = json!({"template": {"name": "retorno", "language": "pt_BR"}, "variables": {"1": "Ma\nria", "3": "x"}});
    let r = agent.send_to_contact(&s.record_id, &bad_vars, None).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (422, "template_variables_invalid".into())
    );
    let details: Vec<(String, String)> = r.json_body()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["variable"].as_str().unwrap().to_string(),
                x["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        details,
        [
            ("1".into(), "newline".into()),
            ("2".into(), "missing".into()),
            ("3".into(), "unknown".into())
        ]
    );
    let r = agent
        .send_to_contact(&s.record_id, &json!({"template": "retorno"}), None)
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (400, "invalid_request".into())
    );
    assert!(s.templates_sent().is_empty());
    assert!(s.counted_sends().await.is_empty());
    assert!(!s.f.records("a-1").await[0].message_sent);
}

#[tokio::test]
async fn the_third_send_in_24_hours_is_refused_with_the_time_it_frees() {
    let s = send_fixture(Some(2)).await;
    let t = night() + Duration::hours(9);
    assert_eq!(
        s.app(&s.deps(t))
            .as_agent("a-1")
            .send_to_contact(&s.record_id, &body(), None)
            .await
            .status,
        200
    );
    assert_eq!(
        s.app(&s.deps(t + Duration::hours(1)))
            .as_agent("a-1")
            .send_to_contact(&s.record_id, &body(), None)
            .await
            .status,
        200
    );
    let r = s
        .app(&s.deps(t + Duration::hours(2)))
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (429, "active_message_limit_reached".into())
    );
    assert_eq!(r.header("retry-after"), Some("79200"));
    let e = &r.json_body()["error"];
    assert_eq!(e["availableAt"], "2026-11-22T08:10:00-03:00");
    assert_eq!(e["retryAfterSeconds"], 79200);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("at 11/22 08:10 (in 22 h 00 min)"),
        "{e}"
    );
    assert_eq!(s.templates_sent().len(), 2);
    // A day after the first send, one slot is free again.
    assert_eq!(
        s.app(&s.deps(t + Duration::hours(24)))
            .as_agent("a-1")
            .send_to_contact(&s.record_id, &body(), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn ten_concurrent_sends_with_two_slots_reach_whatsapp_exactly_twice() {
    let s = send_fixture(Some(2)).await;
    let d = s.deps(night() + Duration::hours(9));
    let b = body();
    let app = s.app(&d);
    let results = join_all((0..10).map(|_| {
        let caller = app.as_agent("a-1");
        let (record, b) = (&s.record_id, &b);
        async move { caller.send_to_contact(record, b, None).await }
    }))
    .await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let refused = results.iter().filter(|r| r.status == 429).count();
    assert_eq!(
        (ok, refused),
        (2, 8),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(s.templates_sent().len(), 2);
}

#[tokio::test]
async fn metas_refusal_is_502_the_slot_comes_back_and_the_record_stays_unsent() {
    let s = send_fixture(Some(2)).await;
    s.f.graph.sandbox.fail(&s.phone, Some(131047));
    let d = s.deps(night() + Duration::hours(9));
    let app = s.app(&d);
    let agent = app.as_agent("a-1");
    let r = agent.send_to_contact(&s.record_id, &body(), None).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (502, "whatsapp_rejected".into())
    );
    assert_eq!(r.json_body()["error"]["whatsappCode"], 131047);
    assert!(r.json_body()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("24 hours"));
    assert!(!s.f.records("a-1").await[0].message_sent);
    assert!(s.counted_sends().await.is_empty());
    s.f.graph.sandbox.fail(&s.phone, None);
    assert_eq!(
        agent
            .send_to_contact(&s.record_id, &body(), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_silent_whatsapp_is_504_outcome_unknown_and_keeps_the_slot() {
    let s = send_fixture(Some(2)).await;
    // A server that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            held.push(c);
        }
    });
    let mut d = s.deps(night() + Duration::hours(9));
    d.graph = GraphClient::new(&url, "v23.0", GRAPH_TOKEN, StdDuration::from_millis(300)).unwrap();
    let r = s
        .app(&d)
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (504, "whatsapp_outcome_unknown".into())
    );
    assert_eq!(s.counted_sends().await.len(), 1, "WhatsApp may have it");
    let rec = s.f.records("a-1").await.remove(0);
    assert!(!rec.message_sent);
    assert_eq!(
        rec.delivery.unwrap().status,
        afterhours_rules::webhook::DeliveryStatus::Unknown
    );
}

#[tokio::test]
async fn a_refused_connection_sends_nothing_and_gives_the_slot_back() {
    let s = send_fixture(Some(2)).await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut d = s.deps(night() + Duration::hours(9));
    d.graph = GraphClient::new(&url, "v23.0", GRAPH_TOKEN, StdDuration::from_millis(300)).unwrap();
    let r = s
        .app(&d)
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (502, "whatsapp_unreachable".into())
    );
    assert!(s.counted_sends().await.is_empty());
    assert!(!s.f.records("a-1").await[0].message_sent);
}

#[tokio::test]
async fn an_idempotent_retry_returns_the_first_result_without_a_second_send() {
    let s = send_fixture(Some(2)).await;
    let d = s.deps(night() + Duration::hours(9));
    let app = s.app(&d);
    let agent = app.as_agent("a-1");
    let first = agent
        .send_to_contact(&s.record_id, &body(), Some("key-1"))
        .await;
    assert_eq!(first.status.as_u16(), 200);
    let again = agent
        .send_to_contact(&s.record_id, &body(), Some("key-1"))
        .await;
    assert_eq!(again.status.as_u16(), 200);
    assert_eq!(again.json_body(), first.json_body());
    assert_eq!(s.templates_sent().len(), 1);
    assert_eq!(s.counted_sends().await.len(), 1);
    let mut other = body();
    other["variables"]["2"] = json!("hoje");
    let r = agent
        .send_to_contact(&s.record_id, &other, Some("key-1"))
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (409, "idempotency_key_reused".into())
    );
    // A refused request leaves its key free for a corrected retry.
    let bad =
        json!({"template": {"name": "retorno", "language": "pt_BR"}, "variables": {"1": "x"}});
    assert_eq!(
        agent
            .send_to_contact(&s.record_id, &bad, Some("key-2"))
            .await
            .status,
        422
    );
    assert_eq!(
        agent
            .send_to_contact(&s.record_id, &body(), Some("key-2"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn with_the_cap_off_no_counter_is_touched() {
    let s = send_fixture(None).await;
    let d = s.deps(night() + Duration::hours(9));
    for _ in 0..3 {
        let r = s
            .app(&d)
            .as_agent("a-1")
            .send_to_contact(&s.record_id, &body(), None)
            .await;
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(r.json_body()["quota"], Value::Null);
    }
    assert!(s
        .f
        .store
        .raw_item(&format!("Q#{}#a-1#{}", s.f.tenant, s.phone), "Q")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_supervisor_may_send_on_an_agents_record() {
    let s = send_fixture(Some(2)).await;
    let r = s
        .app(&s.deps(night() + Duration::hours(9)))
        .as_supervisor("sup-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(
        s.f.records("a-1").await[0].sent_by.as_deref(),
        Some("sup-1")
    );
}

#[tokio::test]
async fn a_failed_put_events_entry_is_retried_and_never_fails_the_send() {
    let s = send_fixture(Some(2)).await;
    let bus = crate::events::fails_once();
    let mut d = s.deps(night() + Duration::hours(9));
    d.events = crate::events::mocked_publisher(&bus);
    let r = s
        .app(&d)
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(bus.num_calls(), 2, "published once, after the retry");
    // A bus that rejects every entry still does not fail a send that went out.
    let mut broken = s.deps(night() + Duration::hours(10));
    broken.events = Publisher::new(s.eb.clone(), unique("missing-bus"));
    let r = s
        .app(&broken)
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(s.templates_sent().len(), 2);
}
