//! The desk's query and admin API against DynamoDB Local: every route, every
//! role, every refusal, and cross-tenant attempts with real ids.

use afterhours_adapters::cursor::CursorSigner;
use afterhours_adapters::http::ApiResponse;
use afterhours_adapters::lambda::fixed_clock;
use afterhours_adapters::model::Tap;
use afterhours_tests::*;
use chrono::Duration;
use serde_json::{json, Value};

use crate::webhook::{fixture, night, Fixture};

pub fn contacts_deps(f: &Fixture) -> contacts::Deps {
    contacts::Deps {
        store: f.store.clone(),
        cursors: CursorSigner::new(b"cursor-secret"),
        clock: fixed_clock(night() + Duration::hours(1)),
        rules: Default::default(),
    }
}

pub fn settings_deps(f: &Fixture) -> settings::Deps {
    settings::Deps::new(f.store.clone(), Some(f.graph.client()))
}

async fn get(
    f: &Fixture,
    path: &str,
    tenant: &str,
    agent: &str,
    role: &str,
    query: &[(&str, &str)],
) -> ApiResponse {
    contacts::handle(
        &contacts_deps(f),
        with_query(api("GET", path, claims(tenant, agent, role)), query),
    )
    .await
}

async fn admin(
    f: &Fixture,
    method: &str,
    path: &str,
    tenant: &str,
    role: &str,
    body: &Value,
) -> ApiResponse {
    settings::handle(
        &settings_deps(f),
        with_body(api(method, path, claims(tenant, "admin-1", role)), body),
    )
    .await
}

/// A fixture with three night contacts for a-1 and one for a-2.
async fn populated() -> Fixture {
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

fn items(r: &ApiResponse) -> Vec<Value> {
    r.json_body()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn an_agent_lists_their_night_newest_first_with_every_field() {
    let f = populated().await;
    let r = get(&f, "/contacts", &f.tenant, "a-1", "agent", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
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
    let p1 = get(
        &f,
        "/contacts",
        &f.tenant,
        "a-1",
        "agent",
        &[("limit", "2")],
    )
    .await;
    assert_eq!(items(&p1).len(), 2);
    let cursor = p1.json_body()["nextCursor"].as_str().unwrap().to_string();
    let p2 = get(
        &f,
        "/contacts",
        &f.tenant,
        "a-1",
        "agent",
        &[("limit", "2"), ("cursor", &cursor)],
    )
    .await;
    assert_eq!(items(&p2)[0]["contact"], "+5511000000001");
    let bad = get(
        &f,
        "/contacts",
        &f.tenant,
        "a-1",
        "agent",
        &[("cursor", &format!("{cursor}x"))],
    )
    .await;
    assert_eq!(
        (bad.status, bad.json_body()["error"]["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
    let other = get(
        &f,
        "/contacts",
        &f.tenant,
        "a-2",
        "supervisor",
        &[("cursor", &cursor)],
    )
    .await;
    assert_eq!(other.status, 400);
}

#[tokio::test]
async fn roles_decide_whose_contacts_can_be_listed() {
    let f = populated().await;
    assert_eq!(
        get(
            &f,
            "/contacts",
            &f.tenant,
            "a-1",
            "agent",
            &[("agentId", "a-2")]
        )
        .await
        .status,
        403
    );
    let sup = get(
        &f,
        "/contacts",
        &f.tenant,
        "sup",
        "supervisor",
        &[("agentId", "a-2")],
    )
    .await;
    assert_eq!(items(&sup).len(), 1);
    let adm = get(
        &f,
        "/contacts",
        &f.tenant,
        "adm",
        "admin",
        &[
            ("agentId", "a-1"),
            ("requestedCallback", "pending"),
            ("messageSent", "false"),
        ],
    )
    .await;
    assert_eq!(items(&adm).len(), 3);
    let none = get(
        &f,
        "/contacts",
        &f.tenant,
        "adm",
        "admin",
        &[("agentId", "a-1"), ("requestedCallback", "yes")],
    )
    .await;
    assert!(items(&none).is_empty());
    // A token whose groups name no role of ours (none, or a look-alike) is 403.
    for groups in [
        None,
        Some("[Admins]"),
        Some("[ADMIN]"),
        Some("[sales,admin]"),
    ] {
        let mut no_role = claims(&f.tenant, "a-1", "agent");
        no_role.remove("cognito:groups");
        if let Some(g) = groups {
            no_role.insert("cognito:groups".into(), g.into());
        }
        let res = contacts::handle(&contacts_deps(&f), api("GET", "/contacts", no_role)).await;
        assert_eq!(
            error_code(&res),
            (403, "forbidden".to_string()),
            "{groups:?}"
        );
    }
}

#[tokio::test]
async fn a_group_that_only_looks_like_admin_cannot_write_settings() {
    let f = fixture().await;
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("Asia/Tokyo");
    for groups in ["[Admins]", "[ADMIN]", "[sales,admin]", "[\"sales,admin\"]"] {
        let mut c = claims(&f.tenant, "boss", "admin");
        c.insert("cognito:groups".into(), groups.into());
        let res = settings::handle(
            &settings_deps(&f),
            with_body(api("PUT", "/settings", c), &s),
        )
        .await;
        assert_eq!(error_code(&res), (403, "forbidden".to_string()), "{groups}");
    }
    assert_eq!(
        f.store.get_settings(&f.tenant).await.unwrap().unwrap()["timezone"],
        "America/Sao_Paulo"
    );
    // The exact name, in API Gateway's flattened list, is an admin.
    let mut c = claims(&f.tenant, "boss", "admin");
    c.insert("cognito:groups".into(), "[sales admin]".into());
    let ok = settings::handle(
        &settings_deps(&f),
        with_body(api("PUT", "/settings", c), &s),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
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
        let r = get(&f, "/contacts", &f.tenant, "a-1", "agent", &[q]).await;
        assert_eq!(
            (r.status, r.json_body()["error"]["code"].as_str()),
            (400, Some("invalid_query")),
            "{q:?}"
        );
    }
}

#[tokio::test]
async fn one_contact_and_its_quota() {
    let f = populated().await;
    let it = items(&get(&f, "/contacts", &f.tenant, "a-1", "agent", &[]).await);
    let id = it[0]["id"].as_str().unwrap();
    let one = get(
        &f,
        &format!("/contacts/{id}"),
        &f.tenant,
        "a-1",
        "agent",
        &[],
    )
    .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json_body()["contact"], it[0]["contact"]);
    let q = get(
        &f,
        &format!("/contacts/{id}/quota"),
        &f.tenant,
        "a-1",
        "agent",
        &[],
    )
    .await;
    assert_eq!(
        q.json_body(),
        json!({"enabled": true, "limit": 2, "used": 0, "remaining": 2, "availableAt": null, "retryAfterSeconds": 0})
    );
    assert_eq!(
        get(
            &f,
            &format!("/contacts/{id}"),
            &f.tenant,
            "a-2",
            "agent",
            &[]
        )
        .await
        .status,
        403
    );
    assert_eq!(
        get(&f, "/contacts/not-an-id", &f.tenant, "a-1", "agent", &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn another_tenant_reads_and_changes_nothing_with_real_ids() {
    let f = populated().await;
    let it = items(&get(&f, "/contacts", &f.tenant, "a-1", "agent", &[]).await);
    let id = it[0]["id"].as_str().unwrap();
    let intruder = unique("other");
    for role in ["agent", "supervisor", "admin"] {
        assert_eq!(
            get(&f, &format!("/contacts/{id}"), &intruder, "a-1", role, &[])
                .await
                .status,
            404
        );
        assert_eq!(
            get(
                &f,
                &format!("/contacts/{id}/quota"),
                &intruder,
                "a-1",
                role,
                &[]
            )
            .await
            .status,
            404
        );
        assert!(items(
            &get(
                &f,
                "/contacts",
                &intruder,
                "a-1",
                role,
                &[("agentId", "a-1")]
            )
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
    let r = admin(
        &f,
        "PUT",
        &format!("/channels/{}", f.pnid),
        &intruder,
        "admin",
        &json!({"wabaId": "900000000000001", "displayPhoneNumber": "+1", "defaultAgentId": "evil"}),
    )
    .await;
    assert_eq!(
        (r.status, r.json_body()["error"]["code"].as_str()),
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
    let send_deps = crate::send::deps_for(&f);
    let s = send::handle(
        &send_deps,
        with_body(
            api(
                "POST",
                &format!("/contacts/{id}/active-messages"),
                claims(&intruder, "a-1", "admin"),
            ),
            &json!({"template": {"name": "retorno", "language": "pt_BR"}, "variables": {"1": "x"}}),
        ),
    )
    .await;
    assert_eq!(s.status, 404);
    assert!(f
        .graph
        .sandbox
        .sent()
        .iter()
        .all(|m| m["body"]["type"] != "template"));
}

#[tokio::test]
async fn settings_are_read_by_anyone_and_written_by_admins_only() {
    let f = fixture().await;
    let fresh = unique("fresh");
    let d = admin(&f, "GET", "/settings", &fresh, "agent", &Value::Null).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.json_body()["isDefault"], true);
    assert_eq!(d.json_body()["timezone"], "America/Sao_Paulo");
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("Asia/Tokyo");
    for role in ["supervisor", "agent"] {
        let refused = admin(&f, "PUT", "/settings", &fresh, role, &s).await;
        assert_eq!(
            error_code(&refused),
            (403, "forbidden".to_string()),
            "{role}"
        );
        let between = admin(&f, "GET", "/settings", &fresh, "agent", &Value::Null)
            .await
            .json_body();
        assert_eq!(
            (between["timezone"].as_str(), between["isDefault"].as_bool()),
            (Some("America/Sao_Paulo"), Some(true)),
            "a {role}'s write changed nothing"
        );
    }
    assert_eq!(f.store.get_settings(&fresh).await.unwrap(), None);
    let ok = admin(&f, "PUT", "/settings", &fresh, "admin", &s).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let back = admin(&f, "GET", "/settings", &fresh, "agent", &Value::Null)
        .await
        .json_body();
    assert_eq!(
        (back["timezone"].as_str(), back["isDefault"].as_bool()),
        (Some("Asia/Tokyo"), Some(false))
    );
}

#[tokio::test]
async fn invalid_settings_are_422_naming_each_field_and_change_nothing() {
    let f = fixture().await;
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("Nowhere/City");
    s["businessHours"]["weekly"]["mon"] = json!([["08:00", "12:00"], ["11:00", "13:00"]]);
    s["activeMessageLimit"]["maxPerContactPer24h"] = json!(0);
    let r = admin(&f, "PUT", "/settings", &f.tenant, "admin", &s).await;
    assert_eq!(r.status, 422);
    let b = r.json_body();
    assert_eq!(b["error"]["code"], "invalid_settings");
    let fields: Vec<&str> = b["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "timezone",
            "activeMessageLimit.maxPerContactPer24h",
            "businessHours.weekly.mon[1]"
        ]
    );
    assert_eq!(
        f.store.get_settings(&f.tenant).await.unwrap().unwrap()["timezone"],
        "America/Sao_Paulo"
    );
    let bad_json = settings::handle(&settings_deps(&f), {
        let mut r = api("PUT", "/settings", claims(&f.tenant, "admin-1", "admin"));
        r.body = b"{nope".to_vec();
        r
    })
    .await;
    assert_eq!(
        (
            bad_json.status,
            bad_json.json_body()["error"]["code"].as_str()
        ),
        (400, Some("invalid_json"))
    );
    let wrong_type = admin(
        &f,
        "PUT",
        "/settings",
        &f.tenant,
        "admin",
        &json!({"timezone": 3}),
    )
    .await;
    assert_eq!(wrong_type.status, 422);
}

#[tokio::test]
async fn channels_bind_to_the_callers_tenant_and_are_validated() {
    let f = fixture().await;
    let t = unique("chan");
    f.graph
        .sandbox
        .set_phone_numbers("710000000000001", &["777000"]);
    f.store.grant_account(&t, "710000000000001").await.unwrap();
    let ok = admin(
        &f,
        "PUT",
        "/channels/777000",
        &t,
        "admin",
        &json!({"wabaId": "710000000000001", "displayPhoneNumber": "+1 777", "defaultAgentId": "a-9"}),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        f.store
            .get_channel("777000")
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        t
    );
    let bad = admin(
        &f,
        "PUT",
        "/channels/777001",
        &t,
        "admin",
        &json!({"wabaId": 5, "displayPhoneNumber": ""}),
    )
    .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<String> = bad.json_body()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["wabaId", "displayPhoneNumber", "defaultAgentId"]);
    assert_eq!(f.store.get_channel("777001").await.unwrap(), None);
    assert_eq!(
        admin(&f, "PUT", "/channels/777002", &t, "supervisor", &json!({}))
            .await
            .status,
        403
    );
}

pub fn meta_templates() -> Value {
    json!({"data": [
        {"name": "retorno", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY", "id": "1",
         "components": [{"type": "BODY", "text": "Olá {{1}}, vimos sua mensagem de {{2}}."}]},
        {"name": "pedido", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "parameter_format": "NAMED",
         "components": [{"type": "BODY", "text": "Hi {{customer_name}}"}]},
        {"name": "promo", "language": "pt_BR", "status": "PENDING", "category": "MARKETING",
         "components": [{"type": "BODY", "text": "Oferta {{1}}"}]}]})
}

#[tokio::test]
async fn templates_are_stored_by_admins_and_listed_when_approved() {
    let f = fixture().await;
    for role in ["agent", "supervisor"] {
        let refused = admin(&f, "PUT", "/templates", &f.tenant, role, &meta_templates()).await;
        assert_eq!(
            error_code(&refused),
            (403, "forbidden".to_string()),
            "{role}"
        );
        assert!(
            items(&get(&f, "/templates", &f.tenant, "a-1", "agent", &[]).await).is_empty(),
            "a {role}'s write stored nothing"
        );
    }
    let r = admin(
        &f,
        "PUT",
        "/templates",
        &f.tenant,
        "admin",
        &meta_templates(),
    )
    .await;
    assert_eq!(
        r.json_body(),
        json!({"templates": 3, "approved": 2, "wabaId": "W"}),
        "the tenant's only account"
    );
    let list = get(&f, "/templates", &f.tenant, "a-1", "agent", &[]).await;
    let it = items(&list);
    assert_eq!(it.len(), 2);
    assert_eq!(it[0]["name"], "retorno");
    assert_eq!(it[0]["parameterFormat"], "POSITIONAL");
    assert_eq!(it[0]["variables"], json!(["1", "2"]));
    assert_eq!(it[1]["variables"], json!(["customer_name"]));
    assert!(items(&get(&f, "/templates", &unique("x"), "a-1", "agent", &[]).await).is_empty());
    let bad = admin(
        &f,
        "PUT",
        "/templates",
        &f.tenant,
        "admin",
        &json!({"data": [{"name": "x"}]}),
    )
    .await;
    assert_eq!(
        (bad.status, bad.json_body()["error"]["code"].as_str()),
        (422, Some("invalid_templates"))
    );
    assert_eq!(
        items(&get(&f, "/templates", &f.tenant, "a-1", "agent", &[]).await).len(),
        2,
        "a bad list changes nothing"
    );
}

/// Binds one more number of the fixture's tenant, under a new WhatsApp Business Account.
async fn bind_new_waba(f: &Fixture, suffix: &str) -> String {
    let waba = format!("{}", uuid::Uuid::new_v4().as_u128() % 10u128.pow(15));
    afterhours_tests::bind_channel(
        &f.store,
        &afterhours_adapters::model::Channel {
            phone_number_id: format!("{}{suffix}", f.pnid),
            tenant_id: f.tenant.clone(),
            waba_id: waba.clone(),
            display_phone_number: "+1".into(),
            default_agent_id: "a-1".into(),
        },
    )
    .await;
    waba
}

#[tokio::test]
async fn templates_sync_from_the_graph_api_page_by_page() {
    let f = fixture().await;
    let waba = bind_new_waba(&f, "7").await;
    f.graph
        .sandbox
        .set_templates(&waba, meta_templates()["data"].as_array().unwrap().clone());
    f.graph.sandbox.set_template_page_size(2);
    let sync = |tenant: &str, role: &str, body: Value| {
        let (tenant, role) = (tenant.to_string(), role.to_string());
        let deps = settings_deps(&f);
        async move {
            settings::handle(
                &deps,
                with_body(
                    api("POST", "/templates/sync", claims(&tenant, "admin-1", &role)),
                    &body,
                ),
            )
            .await
        }
    };
    assert_eq!(
        sync(&f.tenant, "supervisor", json!({"wabaId": waba}))
            .await
            .status,
        403
    );
    let r = sync(&f.tenant, "admin", json!({"wabaId": waba})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json_body(),
        json!({"templates": 3, "approved": 2, "wabaId": waba})
    );
    let listed = items(&get(&f, "/templates", &f.tenant, "a-1", "agent", &[]).await);
    assert_eq!(
        listed
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["retorno", "pedido"]
    );
    // Another tenant cannot sync this account; an unknown account is 404; the body is checked.
    assert_eq!(
        sync(&unique("other"), "admin", json!({"wabaId": waba}))
            .await
            .status,
        404
    );
    assert_eq!(
        sync(&f.tenant, "admin", json!({"wabaId": "123456789"}))
            .await
            .status,
        404
    );
    assert_eq!(
        sync(&f.tenant, "admin", json!({"wabaId": "../me/accounts"}))
            .await
            .status,
        422,
        "ids that would go into a Graph URL are digits"
    );
    assert_eq!(sync(&f.tenant, "admin", json!({})).await.status, 422);
    // Meta refusing (an account it does not know) changes nothing.
    f.graph
        .sandbox
        .set_templates(&waba, vec![json!({"name": "broken"})]);
    let bad = sync(&f.tenant, "admin", json!({"wabaId": waba})).await;
    assert_eq!(
        (bad.status, bad.json_body()["error"]["code"].as_str()),
        (422, Some("invalid_templates"))
    );
    assert_eq!(
        items(&get(&f, "/templates", &f.tenant, "a-1", "agent", &[]).await).len(),
        2
    );
}

#[tokio::test]
async fn a_graph_refusal_during_sync_is_502_and_changes_nothing() {
    let f = fixture().await;
    let waba = bind_new_waba(&f, "8").await;
    // The sandbox has no templates for this account: Meta answers 400 (#100).
    let r = admin(
        &f,
        "POST",
        "/templates/sync",
        &f.tenant,
        "admin",
        &json!({"wabaId": waba}),
    )
    .await;
    assert_eq!(
        (r.status, r.json_body()["error"]["code"].as_str()),
        (502, Some("whatsapp_rejected"))
    );
    assert_eq!(r.json_body()["error"]["whatsappCode"], 100);
    let book = f.store.get_templates(&f.tenant).await.unwrap();
    assert!(book.accounts.is_empty() && book.any.is_none(), "{book:?}");
}

/// `PUT /channels/{pnid}` as an admin of `tenant`, naming `waba`.
async fn bind(deps: &settings::Deps, tenant: &str, pnid: &str, waba: &str) -> ApiResponse {
    settings::handle(
        deps,
        with_body(
            api(
                "PUT",
                &format!("/channels/{pnid}"),
                claims(tenant, "admin-1", "admin"),
            ),
            &json!({"wabaId": waba, "displayPhoneNumber": "+1", "defaultAgentId": "a-1"}),
        ),
    )
    .await
}

fn error_code(r: &ApiResponse) -> (u16, String) {
    (
        r.status,
        r.json_body()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

#[tokio::test]
async fn a_channel_binds_only_to_a_granted_account_that_lists_the_number() {
    let f = fixture().await;
    let deps = settings_deps(&f);
    let (a, b) = (unique("ta"), unique("tb"));
    f.graph
        .sandbox
        .set_phone_numbers("810000000000001", &["781000", "781001"]);
    // Not digits: refused before anything else, naming the field.
    let r = bind(&deps, &a, "781000", "../me/accounts").await;
    assert_eq!(error_code(&r), (422, "invalid_channel".into()));
    assert_eq!(r.json_body()["error"]["details"][0]["field"], "wabaId");
    // Listed by Meta under the platform's token, but not granted to A.
    let r = bind(&deps, &a, "781000", "810000000000001").await;
    assert_eq!(error_code(&r), (403, "business_account_not_granted".into()));
    assert_eq!(f.store.get_channel("781000").await.unwrap(), None);
    for account in ["810000000000001", "819999999999999"] {
        f.store.grant_account(&a, account).await.unwrap();
    }
    // A number the account does not list.
    let r = bind(&deps, &a, "781999", "810000000000001").await;
    assert_eq!(
        error_code(&r),
        (422, "channel_not_in_business_account".into())
    );
    // An account Meta does not know.
    let r = bind(&deps, &a, "781000", "819999999999999").await;
    assert_eq!(
        error_code(&r),
        (422, "channel_not_in_business_account".into())
    );
    assert_eq!(f.store.get_channel("781999").await.unwrap(), None);
    // Granted and listed: bound.
    assert_eq!(
        bind(&deps, &a, "781000", "810000000000001").await.status,
        200
    );
    // Tenant B cannot bind the account's other number, nor be granted the account.
    let r = bind(&deps, &b, "781001", "810000000000001").await;
    assert_eq!(error_code(&r), (403, "business_account_not_granted".into()));
    assert_eq!(f.store.get_channel("781001").await.unwrap(), None);
    assert!(matches!(
        f.store.grant_account(&b, "810000000000001").await,
        Err(afterhours_adapters::store::StoreError::AccountTaken(_))
    ));
    assert!(!f
        .store
        .tenant_has_waba(&b, "810000000000001")
        .await
        .unwrap());
    // A can.
    assert_eq!(
        bind(&deps, &a, "781001", "810000000000001").await.status,
        200
    );
}

#[tokio::test]
async fn an_admin_unbinds_a_number_and_can_bind_it_again() {
    let f = fixture().await;
    let deps = settings_deps(&f);
    let (a, b) = (unique("ta"), unique("tb"));
    f.graph
        .sandbox
        .set_phone_numbers("830000000000001", &["783000"]);
    f.store.grant_account(&a, "830000000000001").await.unwrap();
    assert_eq!(
        bind(&deps, &a, "783000", "830000000000001").await.status,
        200
    );
    let unbind = |tenant: &str, role: &str| {
        settings::handle(
            &deps,
            api("DELETE", "/channels/783000", claims(tenant, "x-1", role)),
        )
    };
    // Another tenant's admin and a supervisor of A change nothing.
    let r = unbind(&b, "admin").await;
    assert_eq!(error_code(&r), (404, "channel_not_bound".into()));
    assert_eq!(unbind(&a, "supervisor").await.status, 403);
    assert!(f.store.get_channel("783000").await.unwrap().is_some());
    let r = unbind(&a, "admin").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json_body(),
        json!({"phoneNumberId": "783000", "bound": false})
    );
    assert_eq!(f.store.get_channel("783000").await.unwrap(), None);
    assert!(f.store.tenant_channels(&a).await.unwrap().is_empty());
    // Once more: nothing is bound any more.
    let r = unbind(&a, "admin").await;
    assert_eq!(error_code(&r), (404, "channel_not_bound".into()));
    // The grant stays: the number can be bound again.
    assert_eq!(
        bind(&deps, &a, "783000", "830000000000001").await.status,
        200
    );
    assert_eq!(f.store.tenant_channels(&a).await.unwrap().len(), 1);
}

#[tokio::test]
async fn binding_a_channel_while_whatsapp_is_unreachable_is_503_and_changes_nothing() {
    let f = fixture().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let graph = afterhours_adapters::graph::GraphClient::new(
        &url,
        "v23.0",
        GRAPH_TOKEN,
        std::time::Duration::from_millis(300),
    )
    .unwrap();
    let deps = settings::Deps::new(f.store.clone(), Some(graph));
    let t = unique("t");
    // An account not granted is refused before WhatsApp is asked anything.
    let r = bind(&deps, &t, "782000", "820000000000001").await;
    assert_eq!(error_code(&r), (403, "business_account_not_granted".into()));
    f.store.grant_account(&t, "820000000000001").await.unwrap();
    let r = bind(&deps, &t, "782000", "820000000000001").await;
    assert_eq!(error_code(&r), (503, "service_unavailable".into()));
    assert_eq!(f.store.get_channel("782000").await.unwrap(), None);
}

#[tokio::test]
async fn the_quota_on_a_list_is_the_callers() {
    let f = populated().await;
    let rows = items(&get(&f, "/contacts", &f.tenant, "a-1", "agent", &[]).await);
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
    let own = get(&f, "/contacts", &f.tenant, "a-1", "agent", &[]).await;
    assert_eq!(quota_of(&own), 1);
    // A supervisor looking at a-1's list sees their own quota: they sent nothing.
    let sup = get(
        &f,
        "/contacts",
        &f.tenant,
        "sup-1",
        "supervisor",
        &[("agentId", "a-1")],
    )
    .await;
    assert_eq!(quota_of(&sup), 0);
    let one = get(
        &f,
        &format!("/contacts/{record}/quota"),
        &f.tenant,
        "sup-1",
        "supervisor",
        &[],
    )
    .await;
    assert_eq!(one.json_body()["used"], 0);
}

#[tokio::test]
async fn in_24_7_mode_the_list_is_empty_and_the_records_come_back_after() {
    let f = populated().await;
    assert!(!items(&get(&f, "/contacts", &f.tenant, "a-1", "agent", &[]).await).is_empty());
    let mut doc = crate::webhook::settings(true, true);
    f.store.put_settings(&f.tenant, &doc).await.unwrap();
    let r = get(&f, "/contacts", &f.tenant, "a-1", "agent", &[]).await;
    assert_eq!(
        r.json_body(),
        json!({"items": [], "nextCursor": null, "alwaysOpen": true})
    );
    doc["alwaysOpen"] = json!(false);
    f.store.put_settings(&f.tenant, &doc).await.unwrap();
    let r = get(&f, "/contacts", &f.tenant, "a-1", "agent", &[]).await;
    assert!(!items(&r).is_empty(), "kept, and shown again");
    assert!(r.json_body().get("alwaysOpen").is_none());
}

#[tokio::test]
async fn a_new_tenant_starts_with_the_cap_off() {
    let f = fixture().await;
    let r = admin(
        &f,
        "GET",
        "/settings",
        &unique("new"),
        "agent",
        &json!(null),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json_body()["activeMessageLimit"],
        json!({"enabled": false, "maxPerContactPer24h": 2})
    );
}

/// A settings request of an admin of `tenant`, with optional headers.
async fn settings_call(
    f: &Fixture,
    method: &str,
    tenant: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> ApiResponse {
    let mut r = with_body(
        api(method, "/settings", claims(tenant, "admin-1", "admin")),
        body,
    );
    for (k, v) in headers {
        r.headers.insert(k.to_string(), v.to_string());
    }
    settings::handle(&settings_deps(f), r).await
}

#[tokio::test]
async fn settings_carry_an_etag_and_a_stale_if_match_is_412() {
    let f = fixture().await;
    let t = unique("etag");
    let first = settings_call(&f, "GET", &t, &Value::Null, &[]).await;
    let tag0 = first
        .header("etag")
        .expect("GET /settings has an ETag")
        .to_string();
    // Admin A saves with the tag they read; admin B, who read the same tag, gets 412.
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("Europe/Madrid");
    let a = settings_call(&f, "PUT", &t, &s, &[("if-match", &tag0)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let tag1 = a.header("etag").unwrap().to_string();
    assert_ne!(tag0, tag1);
    s["timezone"] = json!("Asia/Tokyo");
    let b = settings_call(&f, "PUT", &t, &s, &[("if-match", &tag0)]).await;
    assert_eq!(error_code(&b), (412, "precondition_failed".to_string()));
    let b = settings_call(
        &f,
        "PATCH",
        &t,
        &json!({"language": "es_ES"}),
        &[("if-match", &tag0)],
    )
    .await;
    assert_eq!(error_code(&b), (412, "precondition_failed".to_string()));
    let now = settings_call(&f, "GET", &t, &Value::Null, &[]).await;
    assert_eq!(
        now.json_body()["timezone"],
        "Europe/Madrid",
        "unchanged by B"
    );
    assert_eq!(now.json_body()["language"], s["language"]);
    assert_eq!(now.header("etag"), Some(tag1.as_str()));
    // Without If-Match, a write applies to whatever is current.
    let c = settings_call(&f, "PATCH", &t, &json!({"alwaysOpen": true}), &[]).await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_ne!(c.header("etag"), Some(tag1.as_str()));
}

#[tokio::test]
async fn a_patch_of_the_cap_leaves_everything_else_as_it_was() {
    let f = fixture().await;
    let t = unique("patch");
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("America/Bogota");
    s["language"] = json!("es_ES");
    assert_eq!(settings_call(&f, "PUT", &t, &s, &[]).await.status, 200);
    let before = settings_call(&f, "GET", &t, &Value::Null, &[]).await;
    let tag = before.header("etag").unwrap().to_string();
    let patch = json!({"activeMessageLimit": {"enabled": false, "maxPerContactPer24h": 5}});
    let r = settings_call(&f, "PATCH", &t, &patch, &[("if-match", &tag)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = settings_call(&f, "GET", &t, &Value::Null, &[])
        .await
        .json_body();
    let mut expected = before.json_body();
    expected["activeMessageLimit"] = patch["activeMessageLimit"].clone();
    assert_eq!(after, expected);
    // Only one field of the section: the other keeps its value.
    let r = settings_call(
        &f,
        "PATCH",
        &t,
        &json!({"activeMessageLimit": {"enabled": true}}),
        &[],
    )
    .await;
    assert_eq!(
        r.json_body()["activeMessageLimit"],
        json!({"enabled": true, "maxPerContactPer24h": 5})
    );
    // A patch that makes the settings invalid is 422 on its field and changes nothing.
    let bad = settings_call(
        &f,
        "PATCH",
        &t,
        &json!({"activeMessageLimit": {"maxPerContactPer24h": 0}}),
        &[],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("activeMessageLimit.maxPerContactPer24h"),
        "{}",
        bad.body
    );
    let last = settings_call(&f, "GET", &t, &Value::Null, &[])
        .await
        .json_body();
    assert_eq!(last["activeMessageLimit"]["maxPerContactPer24h"], 5);
    assert_eq!(last["timezone"], "America/Bogota");
}

#[tokio::test]
async fn concurrent_patches_without_if_match_both_apply() {
    let f = fixture().await;
    let t = unique("race");
    assert_eq!(
        settings_call(&f, "PUT", &t, &crate::webhook::settings(true, false), &[])
            .await
            .status,
        200
    );
    let (lang, zone) = (
        json!({"language": "en_US"}),
        json!({"timezone": "Asia/Tokyo"}),
    );
    let (a, b) = tokio::join!(
        settings_call(&f, "PATCH", &t, &lang, &[]),
        settings_call(&f, "PATCH", &t, &zone, &[]),
    );
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.body, b.body);
    let now = settings_call(&f, "GET", &t, &Value::Null, &[])
        .await
        .json_body();
    assert_eq!(
        (now["language"].as_str(), now["timezone"].as_str()),
        (Some("en_US"), Some("Asia/Tokyo"))
    );
}

#[tokio::test]
async fn the_agent_selector_counts_live_contacts_and_pending_callbacks() {
    let f = populated().await;
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
    let sup = get(&f, "/agents", &f.tenant, "s-1", "supervisor", &[]).await;
    assert_eq!(sup.status, 200, "{}", sup.body);
    assert_eq!(
        sup.json_body(),
        json!({"items": [
            {"agentId": "a-1", "contacts": 3, "callbacksPending": 1},
            {"agentId": "a-2", "contacts": 1, "callbacksPending": 0},
            {"agentId": "a-3", "contacts": 0, "callbacksPending": 0},
        ], "nextCursor": null})
    );
    // Paged by id, the cursor signed for this tenant.
    let p1 = get(&f, "/agents", &f.tenant, "s-1", "admin", &[("limit", "2")]).await;
    let ids: Vec<Value> = items(&p1).iter().map(|a| a["agentId"].clone()).collect();
    assert_eq!(ids, [json!("a-1"), json!("a-2")]);
    let cursor = p1.json_body()["nextCursor"].as_str().unwrap().to_string();
    let p2 = get(
        &f,
        "/agents",
        &f.tenant,
        "s-1",
        "admin",
        &[("limit", "2"), ("cursor", &cursor)],
    )
    .await;
    assert_eq!(items(&p2)[0]["agentId"], "a-3");
    assert_eq!(p2.json_body()["nextCursor"], Value::Null);
    let other = get(
        &f,
        "/agents",
        &unique("t"),
        "s-1",
        "admin",
        &[("cursor", &cursor)],
    )
    .await;
    assert_eq!(error_code(&other), (400, "invalid_cursor".to_string()));
    // An agent sees only themselves; another tenant sees none of these.
    let me = get(&f, "/agents", &f.tenant, "a-2", "agent", &[]).await;
    assert_eq!(
        me.json_body()["items"],
        json!([{"agentId": "a-2", "contacts": 1, "callbacksPending": 0}])
    );
    let stranger = get(&f, "/agents", &unique("t"), "s-1", "supervisor", &[]).await;
    assert!(items(&stranger).is_empty());
    // Seven days later the records are gone from the counts and the registry.
    let later = contacts::Deps {
        clock: fixed_clock(night() + Duration::days(8)),
        ..contacts_deps(&f)
    };
    let r = contacts::handle(
        &later,
        api("GET", "/agents", claims(&f.tenant, "s-1", "supervisor")),
    )
    .await;
    assert_eq!(
        r.json_body()["items"],
        json!([
            {"agentId": "a-1", "contacts": 0, "callbacksPending": 0},
            {"agentId": "a-2", "contacts": 0, "callbacksPending": 0},
            {"agentId": "a-3", "contacts": 0, "callbacksPending": 0},
        ]),
        "a-1..a-3 stay as channels' default agents"
    );
}

#[tokio::test]
async fn messages_for_people_speak_the_tenants_language_and_accept_language_wins() {
    let f = fixture().await;
    let missing = |tenant: String, accept: Option<&'static str>| {
        let f = &f;
        async move {
            let mut r = api("GET", "/contacts/bm9uZQ", claims(&tenant, "a-1", "agent"));
            if let Some(a) = accept {
                r.headers.insert("accept-language".into(), a.into());
            }
            let res = contacts::handle(&contacts_deps(f), r).await;
            let b = res.json_body();
            (
                res.status,
                b["error"]["code"].as_str().unwrap_or("").to_string(),
                b["error"]["message"].as_str().unwrap_or("").to_string(),
            )
        }
    };
    // A tenant that saved no settings speaks pt_BR, the documented default.
    let fresh = unique("lang");
    let (st, code, pt) = missing(fresh.clone(), None).await;
    assert_eq!((st, code.as_str()), (404, "not_found"));
    assert!(pt.starts_with("Não encontrado"), "{pt}");
    let (_, code_en, en) = missing(fresh.clone(), Some("en-US,en;q=0.9")).await;
    assert_eq!(code_en, "not_found", "the code never changes");
    assert!(en.starts_with("No such contact"), "{en}");
    let (_, _, fr) = missing(fresh.clone(), Some("fr-FR")).await;
    assert_eq!(
        fr, pt,
        "a language we do not speak falls back to the tenant's"
    );
    // A tenant that chose es_ES.
    let es_tenant = unique("es");
    let mut s = crate::webhook::settings(true, false);
    s["language"] = json!("es_ES");
    f.store.put_settings(&es_tenant, &s).await.unwrap();
    let (_, _, es) = missing(es_tenant.clone(), None).await;
    assert!(es.starts_with("No encontrado"), "{es}");
    let (_, _, pt_asked) = missing(es_tenant, Some("pt-BR")).await;
    assert_eq!(pt_asked, pt);
}

#[test]
fn every_error_code_the_functions_answer_with_has_its_sentences() {
    use afterhours_adapters::i18n::catalog_codes;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut codes = std::collections::BTreeSet::new();
    let mut stack = vec![root.join("functions"), root.join("shared/adapters/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for part in text.split("code: \"").skip(1) {
                    let code: String = part.chars().take_while(|c| *c != '"').collect();
                    if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                        codes.insert(code);
                    }
                }
                for part in text.split("api_error(").skip(1) {
                    if let Some(code) = part
                        .split('"')
                        .nth(1)
                        .filter(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
                    {
                        codes.insert(code.to_string());
                    }
                }
            }
        }
    }
    for code in [
        "unauthorized",
        "forbidden",
        "not_found",
        "payload_too_large",
        "precondition_failed",
        "service_unavailable",
    ] {
        codes.insert(code.to_string());
    }
    assert!(codes.len() > 20, "{codes:?}");
    let known = catalog_codes();
    let missing: Vec<_> = codes
        .iter()
        .filter(|c| !known.contains(&c.as_str()) && c.as_str() != "whatsapp_rejected")
        .collect();
    assert!(
        missing.is_empty(),
        "no pt_BR/es_ES sentence for {missing:?}"
    );
}
