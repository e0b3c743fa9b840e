//! The webhook function end to end: signed payloads of every shape, against
//! DynamoDB Local, with the WhatsApp sandbox checking each request like Meta.

use afterhours_adapters::cursor::CursorSigner;
use afterhours_adapters::http::ApiRequest;
use afterhours_adapters::lambda::fixed_clock;
use afterhours_adapters::model::{Channel, ContactRecord};
use afterhours_adapters::store::Store;
use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::prompt::{NO_ID, YES_ID};
use afterhours_rules::webhook::{DeliveryError, DeliveryStatus};
use afterhours_tests::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::join_all;
use serde_json::{json, Value};

pub struct Fixture {
    pub store: Store,
    pub graph: GraphStandIn,
    pub deps: webhook::Deps,
    pub tenant: String,
    pub pnid: String,
}

/// Friday 2026-11-20 23:10 in São Paulo: closed (Mon-Fri 08:00-18:00).
pub fn night() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 2, 10, 0).unwrap()
}

pub fn settings(notify: bool, always_open: bool) -> Value {
    json!({"timezone": "America/Sao_Paulo", "language": "en_US", "alwaysOpen": always_open, "notifyNextServiceHours": notify,
        "businessHours": {"weekly": {"mon": [["08:00","18:00"]], "tue": [["08:00","18:00"]], "wed": [["08:00","18:00"]],
                                     "thu": [["08:00","18:00"]], "fri": [["08:00","18:00"]]}, "exceptions": []},
        "activeMessageLimit": {"enabled": true, "maxPerContactPer24h": 2}})
}

pub async fn fixture_with(settings_doc: Value, now: DateTime<Utc>) -> Fixture {
    let store = fresh_store().await;
    let graph = GraphStandIn::start().await;
    let tenant = unique("ten");
    let pnid = format!("{}", 100_000 + rand_u32() % 800_000);
    afterhours_tests::bind_channel(
        &store,
        &Channel {
            phone_number_id: pnid.clone(),
            tenant_id: tenant.clone(),
            waba_id: "W".into(),
            display_phone_number: "+1 555".into(),
            default_agent_id: "a-1".into(),
        },
    )
    .await;
    store.put_settings(&tenant, &settings_doc).await.unwrap();
    let deps = webhook::Deps::new(
        store.clone(),
        graph.client(),
        APP_SECRET,
        "verify-me",
        fixed_clock(now),
    );
    Fixture {
        store,
        graph,
        deps,
        tenant,
        pnid,
    }
}

pub async fn fixture() -> Fixture {
    fixture_with(settings(true, false), night() + Duration::minutes(1)).await
}

fn rand_u32() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}

impl Fixture {
    pub async fn post(&self, body: &[u8]) -> afterhours_adapters::http::ApiResponse {
        webhook::handle(&self.deps, webhook_post(body)).await
    }

    pub async fn records(&self, agent: &str) -> Vec<ContactRecord> {
        self.store
            .list_records(
                &list_query(&self.tenant, agent, night()),
                &CursorSigner::new(b"k").unwrap(),
            )
            .await
            .unwrap()
            .items
    }
}

pub fn tap(
    pnid: &str,
    from: &str,
    prompt_wamid: &str,
    button: &str,
    at: DateTime<Utc>,
    id: &str,
) -> Vec<u8> {
    envelope(
        pnid,
        json!({"contacts": [{"wa_id": from, "profile": {"name": "Maria"}}], "messages": [{
        "from": from, "id": id, "timestamp": at.timestamp().to_string(), "type": "interactive",
        "context": {"from": pnid, "id": prompt_wamid},
        "interactive": {"type": "button_reply", "button_reply": {"id": button, "title": "x"}}}]}),
    )
}

#[tokio::test]
async fn a_night_message_is_recorded_and_prompted_once() {
    let f = fixture().await;
    let body = messages_payload(
        &f.pnid,
        &[(
            "wamid.1",
            "5511999990001",
            night().timestamp(),
            Some("Maria"),
        )],
    );
    let res = f.post(&body).await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    let recs = f.records("a-1").await;
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(
        (r.message_count, r.name.as_deref(), r.wa_id.as_deref()),
        (1, Some("Maria"), Some("5511999990001"))
    );
    assert_eq!(r.requested_callback, RequestedCallback::Pending);
    let sent = f.graph.sent_to("5511999990001");
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]["problems"].as_array().unwrap().is_empty(),
        "{}",
        sent[0]
    );
    assert_eq!(sent[0]["phoneNumberId"], f.pnid.as_str());
    let text = sent[0]["body"]["interactive"]["body"]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("on Monday, Nov 23 at 08:00"), "{text}");
    assert_eq!(r.prompt_wamid.as_deref(), sent[0]["wamid"].as_str());
}

#[tokio::test]
async fn duplicate_and_concurrent_deliveries_change_nothing_twice() {
    let f = fixture().await;
    let body = messages_payload(
        &f.pnid,
        &[(
            "wamid.dup",
            "5511999990002",
            night().timestamp(),
            Some("Ana"),
        )],
    );
    let results = join_all((0..10).map(|_| f.post(&body))).await;
    assert!(results.iter().all(|r| r.status == 200));
    assert_eq!(f.post(&body).await.status, 200);
    let recs = f.records("a-1").await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].message_count, 1);
    assert_eq!(f.graph.sent_to("5511999990002").len(), 1, "one prompt");
}

#[tokio::test]
async fn the_customers_tap_sets_the_answer_and_a_redelivery_changes_nothing() {
    let f = fixture().await;
    let phone = "5511999990003";
    f.post(&messages_payload(
        &f.pnid,
        &[("wamid.a", phone, night().timestamp(), None)],
    ))
    .await;
    let prompt = f.graph.sent_to(phone)[0]["wamid"]
        .as_str()
        .unwrap()
        .to_string();
    let yes = tap(
        &f.pnid,
        phone,
        &prompt,
        YES_ID,
        night() + Duration::minutes(2),
        "wamid.tap1",
    );
    assert_eq!(f.post(&yes).await.status, 200);
    assert_eq!(f.post(&yes).await.status, 200);
    let r = &f.records("a-1").await[0];
    assert_eq!(r.requested_callback, RequestedCallback::Yes);
    assert_eq!(r.message_count, 2, "the tap is a message of the same night");
    assert_eq!(
        f.store
            .pending_callbacks(&f.tenant, night())
            .await
            .unwrap()
            .len(),
        1
    );
    let no = tap(
        &f.pnid,
        phone,
        &prompt,
        NO_ID,
        night() + Duration::minutes(3),
        "wamid.tap2",
    );
    f.post(&no).await;
    assert_eq!(
        f.records("a-1").await[0].requested_callback,
        RequestedCallback::No
    );
    assert!(f
        .store
        .pending_callbacks(&f.tenant, night())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(f.graph.sent_to(phone).len(), 1, "no second prompt");
}

#[tokio::test]
async fn messages_inside_hours_are_not_recorded() {
    let monday_10h = Utc.with_ymd_and_hms(2026, 11, 23, 13, 0, 0).unwrap();
    let f = fixture_with(settings(true, false), monday_10h).await;
    let body = messages_payload(
        &f.pnid,
        &[("wamid.day", "5511999990004", monday_10h.timestamp(), None)],
    );
    assert_eq!(f.post(&body).await.status, 200);
    assert!(f.records("a-1").await.is_empty());
    assert!(f.graph.sandbox.sent().is_empty());
}

#[tokio::test]
async fn a_24_7_tenant_records_nothing() {
    let f = fixture_with(settings(true, true), night()).await;
    let res = f
        .post(&messages_payload(
            &f.pnid,
            &[("wamid.x", "5511999990005", night().timestamp(), None)],
        ))
        .await;
    // Acknowledged (anything else makes Meta retry for days), nothing kept, nothing sent.
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    assert!(f.records("a-1").await.is_empty());
    assert!(f.graph.sandbox.sent().is_empty());
}

#[tokio::test]
async fn with_the_option_off_the_record_is_n_a_and_nothing_is_sent() {
    let f = fixture_with(settings(false, false), night()).await;
    f.post(&messages_payload(
        &f.pnid,
        &[("wamid.x", "5511999990006", night().timestamp(), None)],
    ))
    .await;
    assert_eq!(
        f.records("a-1").await[0].requested_callback,
        RequestedCallback::NotAsked
    );
    assert!(f.graph.sandbox.sent().is_empty());
}

#[tokio::test]
async fn a_prompt_that_cannot_be_sent_leaves_n_a_and_the_webhook_succeeds() {
    let f = fixture().await;
    f.graph.sandbox.fail("5511999990007", Some(131026));
    let res = f
        .post(&messages_payload(
            &f.pnid,
            &[("wamid.x", "5511999990007", night().timestamp(), None)],
        ))
        .await;
    assert_eq!(res.status.as_u16(), 200);
    assert_eq!(
        f.records("a-1").await[0].requested_callback,
        RequestedCallback::NotAsked
    );
}

#[tokio::test]
async fn an_unknown_number_is_acknowledged_and_nothing_is_stored() {
    let f = fixture().await;
    let res = f
        .post(&messages_payload(
            "999999999",
            &[("wamid.x", "5511999990008", night().timestamp(), None)],
        ))
        .await;
    assert_eq!(res.status.as_u16(), 200);
    assert!(f.records("a-1").await.is_empty());
    assert!(f.graph.sandbox.sent().is_empty());
}

#[tokio::test]
async fn bad_signatures_and_bodies_are_refused_and_store_nothing() {
    let f = fixture().await;
    let body = messages_payload(
        &f.pnid,
        &[("wamid.x", "5511999990009", night().timestamp(), None)],
    );
    let mut unsigned = webhook_post(&body);
    unsigned.headers.clear();
    assert_eq!(webhook::handle(&f.deps, unsigned).await.status, 401);
    let mut wrong = webhook_post(&body);
    wrong
        .headers
        .insert("x-hub-signature-256".into(), sign("other-secret", &body));
    assert_eq!(webhook::handle(&f.deps, wrong).await.status, 401);
    let mut tampered = webhook_post(&body);
    tampered.body[10] ^= 1;
    assert_eq!(webhook::handle(&f.deps, tampered).await.status, 401);
    let res = f.post(b"{\"entry\": [").await;
    assert_eq!(res.status.as_u16(), 400);
    assert_eq!(res.json_body()["error"]["code"], "invalid_payload");
    assert!(f.records("a-1").await.is_empty());
}

#[tokio::test]
async fn a_base64_body_from_api_gateway_is_verified_over_its_decoded_bytes() {
    let f = fixture().await;
    let body = messages_payload(
        &f.pnid,
        &[("wamid.b64", "5511999990010", night().timestamp(), None)],
    );
    let ev: aws_lambda_events_shim::Event = serde_json::from_value(json!({
        "version": "2.0", "rawPath": "/webhook",
        "headers": {"x-hub-signature-256": sign(APP_SECRET, &body)},
        "requestContext": {"http": {"method": "POST", "path": "/webhook"}},
        "body": base64_encode(&body), "isBase64Encoded": true
    }))
    .unwrap();
    let res = webhook::handle(&f.deps, ApiRequest::from_apigw(ev)).await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    assert_eq!(f.records("a-1").await.len(), 1);
}

mod aws_lambda_events_shim {
    pub type Event = aws_lambda_events::apigw::ApiGatewayV2httpRequest;
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test]
async fn every_message_of_every_entry_and_change_is_handled() {
    let f = fixture().await;
    let change = |id: &str, from: &str| {
        json!({"field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"phone_number_id": f.pnid}, "contacts": [{"wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": night().timestamp().to_string(), "type": "image", "image": {"id": "1"}},
                     {"from": from, "id": format!("{id}b"), "timestamp": night().timestamp().to_string(), "type": "unknown",
                      "errors": [{"code": 131051, "title": "Message type unknown"}]}]}})
    };
    let body = json!({"object": "whatsapp_business_account", "entry": [
        {"id": "W", "changes": [change("m1", "5511000000001"), change("m2", "5511000000002")]},
        {"id": "W", "changes": [change("m3", "5511000000003")]}]});
    assert_eq!(f.post(body.to_string().as_bytes()).await.status, 200);
    let recs = f.records("a-1").await;
    assert_eq!(recs.len(), 3);
    assert!(
        recs.iter().all(|r| r.message_count == 2),
        "unsupported types still count"
    );
}

#[tokio::test]
async fn a_customer_without_a_phone_is_kept_by_business_scoped_id() {
    let f = fixture().await;
    let body = envelope(
        &f.pnid,
        json!({"contacts": [{"user_id": "BR.7788"}], "messages": [
        {"from_user_id": "BR.7788", "id": "wamid.bs", "timestamp": night().timestamp().to_string(), "type": "text", "text": {"body": "oi"}}]}),
    );
    assert_eq!(f.post(&body).await.status, 200);
    let r = &f.records("a-1").await[0];
    assert_eq!(
        (r.wa_id.as_deref(), r.user_id.as_deref(), r.name.as_deref()),
        (None, Some("BR.7788"), None)
    );
    assert_eq!(
        afterhours_rules::display::contact(r.wa_id.as_deref(), r.user_id.as_deref()),
        "BR.7788"
    );
}

#[tokio::test]
async fn messages_older_than_seven_days_are_skipped() {
    let f = fixture_with(settings(true, false), night() + Duration::days(7)).await;
    let res = f
        .post(&messages_payload(
            &f.pnid,
            &[("wamid.old", "5511999990011", night().timestamp(), None)],
        ))
        .await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    assert!(f.records("a-1").await.is_empty());
    assert!(f.graph.sandbox.sent().is_empty());
}

#[tokio::test]
async fn the_agent_who_last_sent_an_active_message_gets_the_record() {
    let f = fixture().await;
    let phone = "5511999990012";
    f.post(&messages_payload(
        &f.pnid,
        &[("wamid.1", phone, night().timestamp(), None)],
    ))
    .await;
    let first = f.records("a-1").await[0].key.clone();
    afterhours_tests::mark_sent(
        &f.store,
        &first,
        "a-7",
        ("t", "pt_BR"),
        "wamid.out",
        night(),
    )
    .await
    .unwrap();
    let next_night = night() + Duration::days(3);
    let f2 = webhook::Deps::new(
        f.store.clone(),
        f.graph.client(),
        APP_SECRET,
        "v",
        fixed_clock(next_night),
    );
    webhook::handle(
        &f2,
        webhook_post(&messages_payload(
            &f.pnid,
            &[("wamid.2", phone, next_night.timestamp(), None)],
        )),
    )
    .await;
    let recs = f
        .store
        .list_records(
            &list_query(&f.tenant, "a-7", next_night),
            &CursorSigner::new(b"k").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(recs.items.len(), 1);
}

#[tokio::test]
async fn statuses_update_the_delivery_state_in_order_only() {
    let f = fixture().await;
    let phone = "5511999990013";
    f.post(&messages_payload(
        &f.pnid,
        &[("wamid.1", phone, night().timestamp(), None)],
    ))
    .await;
    let k = f.records("a-1").await[0].key.clone();
    afterhours_tests::mark_sent(&f.store, &k, "a-1", ("t", "pt_BR"), "wamid.active", night())
        .await
        .unwrap();
    let status = |s: &str, ts: i64, errors: Value| {
        envelope(
            &f.pnid,
            json!({"statuses": [
        {"id": "wamid.active", "status": s, "timestamp": ts.to_string(), "recipient_id": phone, "errors": errors}]}),
        )
    };
    let t = night().timestamp();
    assert_eq!(f.post(&status("read", t + 20, json!([]))).await.status, 200);
    let late = f.post(&status("delivered", t + 10, json!([]))).await;
    assert_eq!(late.status.as_u16(), 200, "{}", late.body);
    assert_eq!(
        f.records("a-1").await[0].delivery.as_ref().unwrap().status,
        DeliveryStatus::Read
    );
    let failed = f
        .post(&status(
            "failed",
            t + 30,
            json!([{"code": 131047, "title": "Re-engagement message"}]),
        ))
        .await;
    assert_eq!(failed.status.as_u16(), 200, "{}", failed.body);
    let d = f.records("a-1").await[0].delivery.clone().unwrap();
    assert_eq!(
        (d.status.as_str(), d.error),
        (
            "failed",
            Some(DeliveryError {
                code: 131047,
                title: "Re-engagement message".to_string()
            })
        )
    );
}

#[tokio::test]
async fn the_verification_handshake_echoes_only_with_the_right_token() {
    let f = fixture().await;
    let get = |token: &str, mode: &str| ApiRequest {
        method: afterhours_adapters::http::Method::GET,
        path: "/webhook".into(),
        query: [
            ("hub.mode", mode),
            ("hub.verify_token", token),
            ("hub.challenge", "1158201444"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    };
    let ok = webhook::handle(&f.deps, get("verify-me", "subscribe")).await;
    assert_eq!((ok.status.as_u16(), ok.body.as_str()), (200, "1158201444"));
    assert_eq!(
        webhook::handle(&f.deps, get("wrong", "subscribe"))
            .await
            .status,
        403
    );
    assert_eq!(
        webhook::handle(&f.deps, get("verify-me", "unsubscribe"))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn a_storage_failure_is_a_500_so_meta_retries() {
    let f = fixture().await;
    let (dynamo, _) = afterhours_adapters::config::aws_clients(&config("missing"))
        .await
        .unwrap();
    let broken = webhook::Deps::new(
        Store::new(dynamo, "no-such-table"),
        f.graph.client(),
        APP_SECRET,
        "v",
        fixed_clock(night()),
    );
    let res = webhook::handle(
        &broken,
        webhook_post(&messages_payload(
            &f.pnid,
            &[("w", "5511", night().timestamp(), None)],
        )),
    )
    .await;
    assert_eq!(res.status.as_u16(), 500);
}

#[test]
fn no_signed_byte_string_makes_the_handler_panic() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let f = rt.block_on(fixture());
    let valid = messages_payload(
        &f.pnid,
        &[("wamid.p", "5511999990099", night().timestamp(), None)],
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    });
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        // A valid payload with some bytes changed, then signed: mostly well-formed JSON of odd shapes.
        proptest::collection::vec((0..valid.len(), any::<u8>()), 1..6).prop_map(move |edits| {
            let mut b = valid.clone();
            for (i, v) in edits {
                b[i] = v;
            }
            b
        }),
    ];
    runner
        .run(&strategy, |bytes| {
            let res = rt.block_on(f.post(&bytes));
            prop_assert!(
                res.status == 200 || res.status == 400,
                "{} {}",
                res.status,
                res.body
            );
            Ok(())
        })
        .unwrap();
}
