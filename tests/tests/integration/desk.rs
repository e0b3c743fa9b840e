//! The desk's query and admin API against DynamoDB Local: every route, every
//! role, every refusal, and cross-tenant attempts with real ids.

use afterhours_adapters::http::ApiResponse;
use afterhours_adapters::model::Tap;
use afterhours_tests::*;
use chrono::Duration;
use serde_json::{json, Value};

use crate::app::TestApp;
use crate::webhook::{fixture, night, Fixture};

/// A fixture with three night contacts for a-1 and one for a-2.
pub(crate) async fn populated() -> Fixture {
    let f = fixture().await;
    let t = night().timestamp();
    let body = messages_payload(
        &f.pnid,
        &[
            ("w1", "5511000000001", t, Some("Maria")),
            ("w2", "5511000000002", t + 60, None),
            ("w3", "5511000000003", t + 120, Some("João")),
        ],
    );
    assert_eq!(f.post(&body).await.status, 200);
    afterhours_tests::bind_channel(
        &f.store,
        &afterhours_adapters::model::Channel {
            phone_number_id: format!("{}9", f.pnid),
            tenant_id: f.tenant.clone(),
            waba_id: "W".into(),
            display_phone_number: "+1".into(),
            default_agent_id: "a-2".into(),
        },
    )
    .await;
    f.post(&messages_payload(
        &format!("{}9", f.pnid),
        &[("w4", "5511000000004", t, None)],
    ))
    .await;
    f
}

pub(crate) fn items(r: &ApiResponse) -> Vec<Value> {
    r.json_body()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn an_agent_lists_their_night_newest_first_with_every_field() {
    let f = populated().await;
    let r = TestApp::new(&f).as_agent("a-1").list_contacts(&[]).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let it = items(&r);
    let contacts: Vec<&str> = it.iter().map(|i| i["contact"].as_str().unwrap()).collect();
    assert_eq!(
        contacts,
        ["+5511000000003", "+5511000000002", "+5511000000001"]
    );
    let maria = &it[2];
    assert_eq!(maria["contactDate"], "2026-11-20T23:10:00-03:00");
    assert_eq!(maria["contactTime"], "23:10");
    assert_eq!(maria["name"], "Maria");
    assert_eq!(maria["displayName"], "Maria");
    assert_eq!(maria["requestedCallback"], "pending");
    assert_eq!(maria["messageSent"], false);
    assert_eq!(maria["messageCount"], 1);
    assert_eq!(maria["expiresAt"], "2026-11-27T23:10:00-03:00");
    assert_eq!(maria["serviceWindowClosesAt"], "2026-11-21T23:10:00-03:00");
    assert_eq!(maria["delivery"], Value::Null);
    assert_eq!(
        maria["quota"],
        json!({"limit": 2, "used": 0, "remaining": 2, "availableAt": null, "retryAfterSeconds": 0})
    );
    assert_eq!(it[1]["name"], Value::Null);
    assert_eq!(it[1]["displayName"], "(No name)");
    assert_eq!(r.json_body()["nextCursor"], Value::Null);
}

#[tokio::test]
async fn pages_follow_the_cursor_and_a_tampered_cursor_is_400() {
    let f = populated().await;
    let app = TestApp::new(&f);
    let p1 = app.as_agent("a-1").list_contacts(&[("limit", "2")]).await;
    assert_eq!(items(&p1).len(), 2);
    let cursor = p1.json_body()["nextCursor"].as_str().unwrap().to_string();
    let p2 = app
        .as_agent("a-1")
        .list_contacts(&[("limit", "2"), ("cursor", &cursor)])
        .await;
    assert_eq!(items(&p2)[0]["contact"], "+5511000000001");
    let bad = app
        .as_agent("a-1")
        .list_contacts(&[("cursor", &format!("{cursor}x"))])
        .await;
    assert_eq!(
        (
            bad.status.as_u16(),
            bad.json_body()["error"]["code"].as_str()
        ),
        (400, Some("invalid_cursor"))
    );
    let other = app
        .as_supervisor("a-2")
        .list_contacts(&[("cursor", &cursor)])
        .await;
    assert_eq!(other.status.as_u16(), 400);
}

#[tokio::test]
async fn roles_decide_whose_contacts_can_be_listed() {
    let f = populated().await;
    assert_eq!(
        TestApp::new(&f)
            .as_agent("a-1")
            .list_contacts(&[("agentId", "a-2")])
            .await
            .status,
        403
    );
    let sup = TestApp::new(&f)
        .as_supervisor("sup")
        .list_contacts(&[("agentId", "a-2")])
        .await;
    assert_eq!(items(&sup).len(), 1);
    let adm = TestApp::new(&f)
        .session(&f.tenant, "adm", "admin")
        .list_contacts(&[
            ("agentId", "a-1"),
            ("requestedCallback", "pending"),
            ("messageSent", "false"),
        ])
        .await;
    assert_eq!(items(&adm).len(), 3);
    let none = TestApp::new(&f)
        .session(&f.tenant, "adm", "admin")
        .list_contacts(&[("agentId", "a-1"), ("requestedCallback", "yes")])
        .await;
    assert!(items(&none).is_empty());
    // A token whose groups name no role of ours (none, or a look-alike) is 403.
    for groups in [
        None,
        Some("[Admins]"),
        Some("[ADMIN]"),
        Some("[sales,admin]"),
    ] {
        let app = TestApp::new(&f);
        let mut caller = app.as_agent("a-1").without_claim("cognito:groups");
        if let Some(g) = groups {
            caller = caller.claim("cognito:groups", g);
        }
        let res = caller.list_contacts(&[]).await;
        assert_eq!(
            error_code(&res),
            (403, "forbidden".to_string()),
            "{groups:?}"
        );
    }
}

#[tokio::test]
async fn bad_query_values_are_400_and_change_nothing() {
    let f = populated().await;
    for q in [
        ("limit", "0"),
        ("limit", "1000"),
        ("limit", "-1"),
        ("requestedCallback", "YES"),
        ("messageSent", "maybe"),
    ] {
        let r = TestApp::new(&f).as_agent("a-1").list_contacts(&[q]).await;
        assert_eq!(
            (r.status.as_u16(), r.json_body()["error"]["code"].as_str()),
            (400, Some("invalid_query")),
            "{q:?}"
        );
    }
}

#[tokio::test]
async fn one_contact_and_its_quota() {
    let f = populated().await;
    let app = TestApp::new(&f);
    let it = items(&app.as_agent("a-1").list_contacts(&[]).await);
    let id = it[0]["id"].as_str().unwrap();
    let one = app.as_agent("a-1").contact(id).await;
    assert_eq!(one.status.as_u16(), 200);
    assert_eq!(one.json_body()["contact"], it[0]["contact"]);
    let q = app.as_agent("a-1").contact_quota(id).await;
    assert_eq!(
        q.json_body(),
        json!({"enabled": true, "limit": 2, "used": 0, "remaining": 2, "availableAt": null, "retryAfterSeconds": 0})
    );
    assert_eq!(app.as_agent("a-2").contact(id).await.status, 403);
    assert_eq!(app.as_agent("a-1").contact("not-an-id").await.status, 404);
}

#[tokio::test]
async fn another_tenant_reads_and_changes_nothing_with_real_ids() {
    let f = populated().await;
    let app = TestApp::new(&f);
    let it = items(&app.as_agent("a-1").list_contacts(&[]).await);
    let id = it[0]["id"].as_str().unwrap();
    let intruder = unique("other");
    for role in ["agent", "supervisor", "admin"] {
        assert_eq!(
            app.session(&intruder, "a-1", role).contact(id).await.status,
            404
        );
        assert_eq!(
            app.session(&intruder, "a-1", role)
                .contact_quota(id)
                .await
                .status,
            404
        );
        assert!(items(
            &app.session(&intruder, "a-1", role)
                .list_contacts(&[("agentId", "a-1")])
                .await
        )
        .is_empty());
    }
    // Binding the victim's number from another tenant is refused (even
    // when the account the intruder names does list it); the channel stays.
    f.graph
        .sandbox
        .set_phone_numbers("900000000000001", &[f.pnid.as_str()]);
    f.store
        .grant_account(&intruder, "900000000000001")
        .await
        .unwrap();
    let r = app.session(&intruder, "admin-1", "admin").put_channel(&f.pnid, &json!({"wabaId": "900000000000001", "displayPhoneNumber": "+1", "defaultAgentId": "evil"}))
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json_body()["error"]["code"].as_str()),
        (409, Some("channel_taken"))
    );
    assert_eq!(
        f.store
            .get_channel(&f.pnid)
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        f.tenant
    );
    // A send on the victim's record from another tenant finds nothing.
    let s = app
        .session(&intruder, "a-1", "admin")
        .send_to_contact(
            id,
            &json!({"template": {"name": "retorno", "language": "pt_BR"}, "variables": {"1": "x"}}),
            None,
        )
        .await;
    assert_eq!(s.status.as_u16(), 404);
    assert!(f
        .graph
        .sandbox
        .sent()
        .iter()
        .all(|m| m["body"]["type"] != "template"));
}

#[tokio::test]
async fn the_quota_on_a_list_is_the_callers() {
    let f = populated().await;
    let app = TestApp::new(&f);
    let rows = items(&app.as_agent("a-1").list_contacts(&[]).await);
    let record = rows[0]["id"].as_str().unwrap().to_string();
    let key = afterhours_adapters::model::RecordKey::from_id(&f.tenant, &record).unwrap();
    // a-1 sent one active message to this customer.
    assert!(f
        .store
        .reserve(
            &f.tenant,
            "a-1",
            &key.customer,
            2,
            night() + Duration::minutes(30),
            None
        )
        .await
        .unwrap()
        .is_granted());
    let quota_of = |r: &ApiResponse| {
        items(r)
            .into_iter()
            .find(|i| i["id"] == record.as_str())
            .map(|i| i["quota"]["used"].clone())
            .unwrap()
    };
    let own = app.as_agent("a-1").list_contacts(&[]).await;
    assert_eq!(quota_of(&own), 1);
    // A supervisor looking at a-1's list sees their own quota: they sent nothing.
    let sup = app
        .as_supervisor("sup-1")
        .list_contacts(&[("agentId", "a-1")])
        .await;
    assert_eq!(quota_of(&sup), 0);
    let one = app.as_supervisor("sup-1").contact_quota(&record).await;
    assert_eq!(one.json_body()["used"], 0);
}

#[tokio::test]
async fn in_24_7_mode_the_list_is_empty_and_the_records_come_back_after() {
    let f = populated().await;
    // A new app per read: an instance that has not kept the old settings.
    assert!(!items(&TestApp::new(&f).as_agent("a-1").list_contacts(&[]).await).is_empty());
    let mut doc = crate::webhook::settings(true, true);
    f.store.put_settings(&f.tenant, &doc).await.unwrap();
    let r = TestApp::new(&f).as_agent("a-1").list_contacts(&[]).await;
    assert_eq!(
        r.json_body(),
        json!({"items": [], "nextCursor": null, "alwaysOpen": true})
    );
    doc["alwaysOpen"] = json!(false);
    f.store.put_settings(&f.tenant, &doc).await.unwrap();
    let r = TestApp::new(&f).as_agent("a-1").list_contacts(&[]).await;
    assert!(!items(&r).is_empty(), "kept, and shown again");
    assert!(r.json_body().get("alwaysOpen").is_none());
}

#[tokio::test]
async fn the_agent_selector_counts_live_contacts_and_pending_callbacks() {
    let f = populated().await;
    let app = TestApp::new(&f);
    // Maria (a-1) asks for a callback.
    let maria = f
        .records("a-1")
        .await
        .into_iter()
        .find(|r| r.name.as_deref() == Some("Maria"))
        .unwrap();
    f.store
        .answer_callback(&Tap {
            tenant: &f.tenant,
            customer: &maria.key.customer,
            prompt_wamid: maria.prompt_wamid.as_deref().unwrap(),
            yes: true,
            at: night(),
        })
        .await
        .unwrap();
    // A channel whose default agent has no record yet still lists them.
    afterhours_tests::bind_channel(
        &f.store,
        &afterhours_adapters::model::Channel {
            phone_number_id: format!("{}8", f.pnid),
            tenant_id: f.tenant.clone(),
            waba_id: "W".into(),
            display_phone_number: "+2".into(),
            default_agent_id: "a-3".into(),
        },
    )
    .await;
    let sup = app.as_supervisor("s-1").agents(&[]).await;
    assert_eq!(sup.status.as_u16(), 200, "{}", sup.body);
    assert_eq!(
        sup.json_body(),
        json!({"items": [
            {"agentId": "a-1", "displayName": "a-1", "contacts": 3, "callbacksPending": 1},
            {"agentId": "a-2", "displayName": "a-2", "contacts": 1, "callbacksPending": 0},
            {"agentId": "a-3", "displayName": "a-3", "contacts": 0, "callbacksPending": 0},
        ], "nextCursor": null})
    );
    // Paged by id, the cursor signed for this tenant.
    let p1 = app
        .session(&f.tenant, "s-1", "admin")
        .agents(&[("limit", "2")])
        .await;
    let ids: Vec<Value> = items(&p1).iter().map(|a| a["agentId"].clone()).collect();
    assert_eq!(ids, [json!("a-1"), json!("a-2")]);
    let cursor = p1.json_body()["nextCursor"].as_str().unwrap().to_string();
    let p2 = app
        .session(&f.tenant, "s-1", "admin")
        .agents(&[("limit", "2"), ("cursor", &cursor)])
        .await;
    assert_eq!(items(&p2)[0]["agentId"], "a-3");
    assert_eq!(p2.json_body()["nextCursor"], Value::Null);
    let other = app
        .session(&unique("t"), "s-1", "admin")
        .agents(&[("cursor", &cursor)])
        .await;
    assert_eq!(error_code(&other), (400, "invalid_cursor".to_string()));
    // An agent sees only themselves; another tenant sees none of these.
    let me = app.as_agent("a-2").agents(&[]).await;
    assert_eq!(
        me.json_body()["items"],
        json!([{"agentId": "a-2", "displayName": "a-2", "contacts": 1, "callbacksPending": 0}])
    );
    let stranger = app
        .session(&unique("t"), "s-1", "supervisor")
        .agents(&[])
        .await;
    assert!(items(&stranger).is_empty());
    // Seven days later the records are gone from the counts and the registry.
    let r = app
        .desk_at(night() + Duration::days(8))
        .as_supervisor("s-1")
        .agents(&[])
        .await;
    assert_eq!(
        r.json_body()["items"],
        json!([
            {"agentId": "a-1", "displayName": "a-1", "contacts": 0, "callbacksPending": 0},
            {"agentId": "a-2", "displayName": "a-2", "contacts": 0, "callbacksPending": 0},
            {"agentId": "a-3", "displayName": "a-3", "contacts": 0, "callbacksPending": 0},
        ]),
        "a-1..a-3 stay as channels' default agents"
    );
}
