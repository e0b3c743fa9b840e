//! Seed 2 at the API: `POST /active-messages` and `GET /quota?contact=`
//! send to and count any customer by channel and number, on the very same
//! counter as the record route, and mark no record. Templates belong to the
//! business account of the channel, and media headers go out as Meta takes them.

use afterhours_adapters::http::ApiResponse;
use afterhours_adapters::model::SendTag;
use afterhours_tests::*;
use chrono::Duration;
use serde_json::{json, Value};

use crate::app::TestApp;
use crate::lost_answers::{impatient, morning, status};
use crate::send::{body, code, send_fixture, SendFixture};

/// The fixture customer's number as a person types it.
fn typed(phone: &str) -> String {
    format!("+{} {}", &phone[..2], &phone[2..])
}

pub(crate) fn direct_body(s: &SendFixture) -> Value {
    let mut b = body();
    b["channel"] = json!(s.f.pnid);
    b["to"] = json!(typed(&s.phone));
    b
}

async fn quota_of(s: &SendFixture, agent: &str, contact: &str) -> ApiResponse {
    TestApp::new(&s.f)
        .desk_at(morning())
        .as_agent(agent)
        .quota(&[("contact", contact), ("channel", &s.f.pnid)])
        .await
}

#[tokio::test]
async fn a_direct_send_shares_the_records_counter_and_marks_no_record() {
    let s = send_fixture(Some(2)).await;
    let d = s.deps(morning());
    // a-2 has no record of this customer and still reaches them by number.
    let first = s
        .app(&d)
        .as_agent("a-2")
        .send_direct(&direct_body(&s), None)
        .await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.body);
    assert_eq!(first.json_body()["quota"]["remaining"], 1);
    let sent = s.templates_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["body"]["to"], s.phone.as_str());
    let tag = SendTag::parse(
        sent[0]["body"]["biz_opaque_callback_data"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            tag.record.as_str(),
            tag.customer.as_deref(),
            tag.sender.as_str()
        ),
        ("", Some(s.phone.as_str()), "a-2")
    );
    // No record is marked; the customer is now a-2's.
    assert!(!s.f.records("a-1").await[0].message_sent);
    assert_eq!(
        s.f.store
            .agent_for_customer(&s.f.tenant, &s.phone, morning())
            .await
            .unwrap()
            .as_deref(),
        Some("a-2")
    );
    // The same counter as the record route: a-2's second send by the record
    // (a-2 is a supervisor there) fills the cap, and a third by number is refused.
    let by_record = s
        .app(&d)
        .as_supervisor("a-2")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(by_record.status.as_u16(), 200, "{}", by_record.body);
    let q = quota_of(&s, "a-2", &format!("+{}", s.phone)).await;
    assert_eq!(q.status.as_u16(), 200, "{}", q.body);
    assert_eq!(
        (
            q.json_body()["enabled"].as_bool(),
            q.json_body()["used"].as_i64(),
            q.json_body()["remaining"].as_i64()
        ),
        (Some(true), Some(2), Some(0))
    );
    let third = s
        .app(&d)
        .as_agent("a-2")
        .send_direct(&direct_body(&s), None)
        .await;
    assert_eq!(
        (third.status.as_u16(), code(&third)),
        (429, "active_message_limit_reached".into())
    );
    assert!(third.header("retry-after").is_some());
    // The fixture's tenant speaks en_US; Accept-Language asks for another of ours.
    let en = third.json_body()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        en.contains("You can send another active message to this customer at"),
        "{en}"
    );
    for (accept, sentence) in [
        ("es-ES,es;q=0.9", "Podrá enviar otro a las"),
        ("pt-BR", "Você poderá enviar outra às"),
    ] {
        let r = s
            .app(&d)
            .as_agent("a-2")
            .header("accept-language", accept)
            .send_direct(&direct_body(&s), None)
            .await;
        assert_eq!(code(&r), "active_message_limit_reached");
        let m = r.json_body()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(m.contains(sentence) && m.contains("22/11 08:10"), "{m}");
    }
    assert_eq!(s.templates_sent().len(), 2);
    // a-1's quota for the same customer is untouched: the cap counts the sender.
    let mine = quota_of(&s, "a-1", &s.phone).await.json_body();
    assert_eq!(
        (mine["used"].as_i64(), mine["remaining"].as_i64()),
        (Some(0), Some(2))
    );
}

#[tokio::test]
async fn a_direct_send_is_refused_for_what_it_cannot_use() {
    let s = send_fixture(Some(2)).await;
    let d = s.deps(morning());
    let other = unique("other");
    for (b, tenant, expected) in [
        (
            json!({"template": {"name": "retorno", "language": "pt_BR"}, "to": "+5511999990000"}),
            s.f.tenant.clone(),
            (400, "invalid_request"),
        ),
        (
            {
                let mut b = direct_body(&s);
                b["to"] = json!("12");
                b
            },
            s.f.tenant.clone(),
            (400, "invalid_request"),
        ),
        (
            {
                let mut b = direct_body(&s);
                b["channel"] = json!("999999999");
                b
            },
            s.f.tenant.clone(),
            (404, "not_found"),
        ),
        (direct_body(&s), other, (404, "not_found")),
        (
            {
                let mut b = direct_body(&s);
                b["template"]["name"] = json!("promo");
                b
            },
            s.f.tenant.clone(),
            (422, "template_not_approved"),
        ),
        (
            {
                let mut b = direct_body(&s);
                b["variables"] = json!({"1": "x"});
                b
            },
            s.f.tenant.clone(),
            (422, "template_variables_invalid"),
        ),
    ] {
        let r = s
            .app(&d)
            .session(&tenant, "a-1", "agent")
            .send_direct(&b, None)
            .await;
        assert_eq!(
            (r.status.as_u16(), code(&r).as_str()),
            expected,
            "{b} {}",
            r.body
        );
    }
    assert!(s.templates_sent().is_empty(), "nothing went out");
    assert!(s.counted_sends().await.is_empty(), "nothing counted");
    let bad = quota_of(&s, "a-1", "maria@example.com").await;
    assert_eq!(
        (bad.status.as_u16(), code(&bad).as_str()),
        (400, "invalid_query")
    );
}

#[tokio::test]
async fn a_direct_send_is_idempotent_and_a_lost_answer_is_settled_by_its_status() {
    let s = send_fixture(Some(2)).await;
    let d = s.deps(morning());
    let app = s.app(&d);
    let agent = app.as_agent("a-1");
    let ok = agent.send_direct(&direct_body(&s), Some("d-1")).await;
    let again = agent.send_direct(&direct_body(&s), Some("d-1")).await;
    assert_eq!((ok.status.as_u16(), again.status.as_u16()), (200, 200));
    assert_eq!(again.header("idempotency-replay"), Some("true"));
    assert_eq!(ok.body, again.body);
    let mut other = direct_body(&s);
    other["variables"]["1"] = json!("Ana");
    let reused = agent.send_direct(&other, Some("d-1")).await;
    assert_eq!(
        (reused.status.as_u16(), code(&reused)),
        (409, "idempotency_key_reused".into())
    );
    assert_eq!(s.templates_sent().len(), 1);
    // The next answer is lost: 504, the slot kept, replayed as 504.
    let mut slow = s.deps(morning());
    slow.graph = impatient(&s);
    s.f.graph.sandbox.answer_late(1, crate::lost_answers::LATE);
    let lost = s
        .app(&slow)
        .as_agent("a-1")
        .send_direct(&direct_body(&s), Some("d-2"))
        .await;
    assert_eq!(
        (lost.status.as_u16(), code(&lost)),
        (504, "whatsapp_outcome_unknown".into())
    );
    assert_eq!(
        agent
            .send_direct(&direct_body(&s), Some("d-2"))
            .await
            .status,
        504
    );
    assert_eq!(s.counted_sends().await.len(), 2);
    // WhatsApp then reports that send failed: its slot is given back, once.
    let sent = s.templates_sent();
    let failed = status(
        &s,
        &sent[1],
        "failed",
        json!([{"code": 131026, "title": "Message undeliverable"}]),
    );
    assert_eq!(s.f.post(&failed).await.status, 200);
    assert_eq!(s.f.post(&failed).await.status, 200);
    assert_eq!(s.counted_sends().await.len(), 1);
    assert!(
        !s.f.records("a-1").await[0].message_sent,
        "no record is marked"
    );
}

/// Binds one more number of the fixture's tenant under a new business account.
async fn second_account(s: &SendFixture) -> (String, String) {
    let waba = format!(
        "{}",
        1_000 + uuid::Uuid::new_v4().as_u128() % 10u128.pow(12)
    );
    let pnid = format!("{}7", s.f.pnid);
    afterhours_tests::bind_channel(
        &s.f.store,
        &afterhours_adapters::model::Channel {
            phone_number_id: pnid.clone(),
            tenant_id: s.f.tenant.clone(),
            waba_id: waba.clone(),
            display_phone_number: "+55 11 4000-0000".into(),
            default_agent_id: "a-1".into(),
        },
    )
    .await;
    (waba, pnid)
}

fn media_templates() -> Value {
    json!({"data": [
        {"name": "boleto", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY",
         "components": [{"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Segue o boleto, {{1}}."}]},
        {"name": "foto", "language": "pt_BR", "status": "APPROVED", "category": "MARKETING",
         "components": [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Olha só, {{1}}!"}]}]})
}

async fn put_templates(s: &SendFixture, query: &[(&str, &str)], b: &Value) -> ApiResponse {
    TestApp::new(&s.f)
        .session(&s.f.tenant, "adm", "admin")
        .put_templates(query, b)
        .await
}

async fn list_templates(s: &SendFixture, tenant: &str, query: &[(&str, &str)]) -> ApiResponse {
    TestApp::new(&s.f)
        .session(tenant, "a-1", "agent")
        .templates(query)
        .await
}

#[tokio::test]
async fn templates_belong_to_the_channels_business_account() {
    let s = send_fixture(Some(5)).await;
    let fixture_waba =
        s.f.store
            .get_channel(&s.f.pnid)
            .await
            .unwrap()
            .unwrap()
            .waba_id;
    let (waba, pnid) = second_account(&s).await;
    // Two accounts: a PUT must name one, and only one of the tenant's.
    let r = put_templates(&s, &[], &media_templates()).await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (400, "waba_required")
    );
    assert!(r.json_body()["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&waba));
    let r = put_templates(&s, &[("wabaId", "12345")], &media_templates()).await;
    assert_eq!(r.status.as_u16(), 404);
    let r = put_templates(&s, &[("wabaId", &waba)], &media_templates()).await;
    assert_eq!(
        r.json_body(),
        json!({"templates": 2, "approved": 2, "wabaId": waba})
    );
    // Per channel: the second number lists its account's; the first keeps the tenant-wide list.
    let second = list_templates(&s, &s.f.tenant, &[("channel", &pnid)])
        .await
        .json_body();
    let names: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["boleto", "foto"]);
    assert_eq!(second["items"][0]["wabaId"], waba.as_str());
    assert_eq!(second["items"][0]["header"], json!({"format": "DOCUMENT"}));
    assert_eq!(second["items"][0]["variables"], json!(["1"]));
    let first = list_templates(&s, &s.f.tenant, &[("channel", &s.f.pnid)])
        .await
        .json_body();
    assert_eq!(first["items"][0]["name"], "retorno");
    assert_eq!(first["items"][0]["header"], Value::Null);
    let all = list_templates(&s, &s.f.tenant, &[]).await.json_body();
    assert_eq!(all["items"].as_array().unwrap().len(), 4, "{all}");
    // Another tenant's channel is not found.
    let r = list_templates(&s, &unique("x"), &[("channel", &pnid)]).await;
    assert_eq!(r.status.as_u16(), 404);
    // The record came in on the first number: the second account's template is not its.
    let d = s.deps(morning());
    let b = json!({"template": {"name": "foto", "language": "pt_BR"}, "variables": {"1": "Maria"},
                   "header": {"type": "image", "link": "https://cdn.example.com/p.jpg"}});
    let r = s
        .app(&d)
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &b, None)
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (422, "template_not_approved"),
        "{}",
        r.body
    );
    assert_ne!(fixture_waba, waba);
}

#[tokio::test]
async fn a_media_header_is_required_checked_and_sent_as_meta_takes_it() {
    let s = send_fixture(Some(5)).await;
    let (waba, pnid) = second_account(&s).await;
    assert_eq!(
        put_templates(&s, &[("wabaId", &waba)], &media_templates())
            .await
            .status,
        200
    );
    let d = s.deps(morning() + Duration::minutes(1));
    let send = |header: Value| {
        let b = json!({"channel": pnid, "to": format!("+{}", s.phone),
            "template": {"name": "boleto", "language": "pt_BR"}, "variables": {"1": "Maria"}, "header": header});
        let d = &d;
        let s = &s;
        async move { s.app(d).as_agent("a-1").send_direct(&b, None).await }
    };
    for (header, problem) in [
        (Value::Null, "missing"),
        (
            json!({"type": "document", "link": "http://files.example.com/b.pdf"}),
            "not_https",
        ),
        (
            json!({"type": "image", "link": "https://files.example.com/b.pdf"}),
            "wrong_type",
        ),
    ] {
        let r = send(header.clone()).await;
        assert_eq!(
            (r.status.as_u16(), code(&r).as_str()),
            (422, "template_variables_invalid"),
            "{header}"
        );
        let details = &r.json_body()["error"]["details"];
        assert_eq!(details[0]["variable"], "header", "{details}");
        assert_eq!(details[0]["problem"], problem, "{details}");
    }
    assert!(s.templates_sent().is_empty());
    let r = send(json!({"type": "document", "link": "https://files.example.com/b.pdf", "filename": "Boleto novembro.pdf"})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let sent = s.templates_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["phoneNumberId"], pnid.as_str());
    assert_eq!(sent[0]["problems"], json!([]));
    assert_eq!(
        sent[0]["body"]["template"]["components"],
        json!([
            {"type": "header", "parameters": [{"type": "document", "document": {"link": "https://files.example.com/b.pdf", "filename": "Boleto novembro.pdf"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Maria"}]}
        ])
    );
}
