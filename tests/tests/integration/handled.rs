//! Marking a contact handled (and undoing it), the list's `handled` filter
//! and order, and how each row tells who sent what and how it went, against
//! DynamoDB Local.

use afterhours_adapters::http::ApiResponse;
use afterhours_adapters::model::Tap;
use afterhours_tests::*;
use chrono::Duration;
use serde_json::{json, Value};

use crate::app::TestApp;
use crate::desk::{items, populated};
use crate::lost_answers::{morning, status};
use crate::send::{body, send_fixture, SendFixture};
use crate::webhook::night;

async fn pending(s: &SendFixture) -> usize {
    s.f.store
        .pending_callbacks(&s.f.tenant, night() + Duration::hours(1))
        .await
        .unwrap()
        .len()
}

fn ids(r: &ApiResponse) -> Vec<String> {
    items(r)
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_contact_marked_handled_is_no_longer_pending_and_undo_brings_it_back() {
    let s = send_fixture(Some(2)).await;
    let f = &s.f;
    assert_eq!(pending(&s).await, 1, "the customer asked for a callback");

    let r = TestApp::new(f)
        .as_agent("a-1")
        .mark_handled(&s.record_id, Some(r#"{"note": " Phoned her. "}"#))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let v = r.json_body();
    assert_eq!(v["id"], s.record_id.as_str());
    assert_eq!(
        v["handled"],
        json!({"by": "a-1", "at": "2026-11-21T00:10:00-03:00", "note": "Phoned her."})
    );
    assert_eq!(v["messageSent"], false);
    assert_eq!(pending(&s).await, 0, "the report leaves it out");

    // Marking again (by a supervisor, with another note) keeps the first mark.
    let again = TestApp::new(f)
        .as_supervisor("sup-1")
        .mark_handled(&s.record_id, Some(r#"{"note": "x"}"#))
        .await;
    assert_eq!(
        (again.status.as_u16(), &again.json_body()["handled"]),
        (200, &v["handled"])
    );

    // The list's filter sees it.
    let yes = TestApp::new(f)
        .as_agent("a-1")
        .list_contacts(&[("handled", "true")])
        .await;
    assert_eq!(ids(&yes), vec![s.record_id.clone()]);
    let no = TestApp::new(f)
        .as_agent("a-1")
        .list_contacts(&[("handled", "false")])
        .await;
    assert!(items(&no).is_empty(), "{}", no.body);

    // A yes tap arriving late does not make a handled callback pending again.
    let rec = f.records("a-1").await.remove(0);
    f.store
        .answer_callback(&Tap {
            tenant: &f.tenant,
            customer: &rec.key.customer,
            prompt_wamid: rec.prompt_wamid.as_deref().unwrap(),
            yes: true,
            at: night() + Duration::minutes(5),
        })
        .await
        .unwrap();
    assert_eq!(pending(&s).await, 0);

    let undone = TestApp::new(f)
        .as_agent("a-1")
        .undo_handled(&s.record_id)
        .await;
    assert_eq!(undone.status.as_u16(), 200, "{}", undone.body);
    assert_eq!(undone.json_body()["handled"], Value::Null);
    assert_eq!(undone.json_body()["requestedCallback"], "yes");
    assert_eq!(pending(&s).await, 1, "the callback is pending again");
    let twice = TestApp::new(f)
        .as_agent("a-1")
        .undo_handled(&s.record_id)
        .await;
    assert_eq!(
        (twice.status.as_u16(), &twice.json_body()["handled"]),
        (200, &Value::Null)
    );
    assert_eq!(pending(&s).await, 1);
}

#[tokio::test]
async fn handled_has_the_access_of_a_send_and_refuses_bad_input_changing_nothing() {
    let s = send_fixture(Some(2)).await;
    let f = &s.f;
    let other = TestApp::new(f)
        .as_agent("a-2")
        .mark_handled(&s.record_id, None)
        .await;
    assert_eq!(error_code(&other), (403, "forbidden".into()));
    let r = TestApp::new(f)
        .session("another-tenant", "a-1", "admin")
        .mark_handled(&s.record_id, None)
        .await;
    assert_eq!(
        error_code(&r),
        (404, "not_found".into()),
        "another tenant's id is nobody's"
    );
    let missing = TestApp::new(f)
        .as_agent("a-1")
        .mark_handled("bm8tc3VjaA", None)
        .await;
    assert_eq!(missing.status.as_u16(), 404);
    for bad in [
        format!(r#"{{"note": "{}"}}"#, "a".repeat(501)),
        r#"{"note": 1}"#.into(),
        r#"{"note": "x", "by": "a-9"}"#.into(),
        "not json".into(),
    ] {
        let r = TestApp::new(f)
            .as_agent("a-1")
            .mark_handled(&s.record_id, Some(&bad))
            .await;
        assert_eq!(r.status.as_u16(), 400, "{bad}: {}", r.body);
    }
    assert_eq!(
        f.records("a-1").await[0].handled,
        None,
        "nothing was marked"
    );
    assert_eq!(pending(&s).await, 1);
    // No body at all is a mark without a note.
    let plain = TestApp::new(f)
        .as_supervisor("sup-1")
        .mark_handled(&s.record_id, None)
        .await;
    assert_eq!(plain.json_body()["handled"]["note"], Value::Null);
    assert_eq!(plain.json_body()["handled"]["by"], "sup-1");
}

#[tokio::test]
async fn undoing_a_mark_after_a_send_leaves_the_callback_answered() {
    let s = send_fixture(Some(2)).await;
    let f = &s.f;
    assert_eq!(
        TestApp::new(f)
            .as_agent("a-1")
            .mark_handled(&s.record_id, None)
            .await
            .status,
        200
    );
    let sent = s
        .app(&s.deps(morning()))
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(sent.status.as_u16(), 200, "{}", sent.body);
    assert_eq!(
        TestApp::new(f)
            .as_agent("a-1")
            .undo_handled(&s.record_id)
            .await
            .status,
        200
    );
    assert_eq!(pending(&s).await, 0, "an active message answered it");
}

#[tokio::test]
async fn each_row_says_who_sent_which_template_and_why_whatsapp_failed_it_in_the_callers_language()
{
    let s = send_fixture(Some(2)).await;
    let f = &s.f;
    let sent = s
        .app(&s.deps(morning()))
        .as_agent("a-1")
        .send_to_contact(&s.record_id, &body(), None)
        .await;
    assert_eq!(sent.status.as_u16(), 200, "{}", sent.body);
    let out = s.templates_sent().remove(0);
    let failed = status(
        &s,
        &out,
        "failed",
        json!([{"code": 131026, "title": "Message undeliverable"}]),
    );
    assert_eq!(f.post(&failed).await.status, 200);

    let r = TestApp::new(f)
        .as_agent("a-1")
        .header("accept-language", "pt-BR")
        .list_contacts(&[])
        .await;
    let row = items(&r).remove(0);
    assert_eq!(row["sentBy"], "a-1");
    assert_eq!(row["sentAt"], "2026-11-21T08:10:00-03:00");
    assert_eq!(
        row["template"],
        json!({"name": "retorno", "language": "pt_BR"})
    );
    assert_eq!(row["delivery"]["status"], "failed");
    assert_eq!(row["delivery"]["at"], "2026-11-21T08:10:05-03:00");
    assert_eq!(row["delivery"]["error"]["code"], 131026);
    let message = row["delivery"]["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("A mensagem não pôde ser entregue"),
        "{message}"
    );
    assert_eq!(row["handled"], Value::Null);
    // The tenant's own language (en_US here) when the request names none.
    let en = TestApp::new(f).as_agent("a-1").list_contacts(&[]).await;
    let message = items(&en)[0]["delivery"]["error"]["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .starts_with("The message could not be delivered"),
        "{message}"
    );
}

#[tokio::test]
async fn oldest_first_lists_the_contacts_that_leave_soonest_and_its_cursor_pages_only_that_order() {
    let f = populated().await;
    let app = TestApp::new(&f);
    let newest = app.as_agent("a-1").list_contacts(&[]).await;
    let oldest = app
        .as_agent("a-1")
        .list_contacts(&[("order", "oldest")])
        .await;
    let mut reversed = ids(&newest);
    reversed.reverse();
    assert_eq!(ids(&oldest), reversed);
    let contacts: Vec<Value> = items(&oldest)
        .iter()
        .map(|i| i["contact"].clone())
        .collect();
    assert_eq!(
        contacts,
        [
            json!("+5511000000001"),
            json!("+5511000000002"),
            json!("+5511000000003")
        ]
    );

    let first = app
        .as_agent("a-1")
        .list_contacts(&[("order", "oldest"), ("limit", "2")])
        .await;
    let cursor = first.json_body()["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let next = app
        .as_agent("a-1")
        .list_contacts(&[("order", "oldest"), ("limit", "2"), ("cursor", &cursor)])
        .await;
    assert_eq!(ids(&next), [ids(&oldest)[2].clone()]);
    let other_order = app
        .as_agent("a-1")
        .list_contacts(&[("limit", "2"), ("cursor", &cursor)])
        .await;
    assert_eq!(error_code(&other_order), (400, "invalid_cursor".into()));
    let bad = app
        .as_agent("a-1")
        .list_contacts(&[("order", "random")])
        .await;
    assert_eq!(error_code(&bad), (400, "invalid_query".into()));
}
