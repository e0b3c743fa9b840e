//! Channels and templates through the admin API against DynamoDB Local and
//! the WhatsApp sandbox: binding under granted accounts only, unbinding,
//! template lists stored and synced.

use afterhours_adapters::http::ApiResponse;
use afterhours_tests::*;
use serde_json::{json, Value};

use crate::app::TestApp;
use crate::desk::items;
use crate::webhook::{fixture, Fixture};

#[tokio::test]
async fn channels_bind_to_the_callers_tenant_and_are_validated() {
    let f = fixture().await;
    let app = TestApp::new(&f);
    let t = unique("chan");
    f.graph
        .sandbox
        .set_phone_numbers("710000000000001", &["777000"]);
    f.store.grant_account(&t, "710000000000001").await.unwrap();
    let ok = app.session(&t, "admin-1", "admin").put_channel("777000", &json!({"wabaId": "710000000000001", "displayPhoneNumber": "+1 777", "defaultAgentId": "a-9"}))
    .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
    assert_eq!(
        f.store
            .get_channel("777000")
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        t
    );
    let bad = app
        .session(&t, "admin-1", "admin")
        .put_channel("777001", &json!({"wabaId": 5, "displayPhoneNumber": ""}))
        .await;
    assert_eq!(bad.status.as_u16(), 422);
    let fields: Vec<String> = bad.json_body()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["wabaId", "displayPhoneNumber", "defaultAgentId"]);
    assert_eq!(f.store.get_channel("777001").await.unwrap(), None);
    assert_eq!(
        app.session(&t, "admin-1", "supervisor")
            .put_channel("777002", &json!({}))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn templates_are_stored_by_admins_and_listed_when_approved() {
    let f = fixture().await;
    let app = TestApp::new(&f);
    for role in ["agent", "supervisor"] {
        let refused = app
            .session(&f.tenant, "admin-1", role)
            .put_templates(&[], &meta_templates())
            .await;
        assert_eq!(
            error_code(&refused),
            (403, "forbidden".to_string()),
            "{role}"
        );
        assert!(
            items(&app.as_agent("a-1").templates(&[]).await).is_empty(),
            "a {role}'s write stored nothing"
        );
    }
    let r = app.as_admin().put_templates(&[], &meta_templates()).await;
    assert_eq!(
        r.json_body(),
        json!({"templates": 3, "approved": 2, "wabaId": "W"}),
        "the tenant's only account"
    );
    let list = app.as_agent("a-1").templates(&[]).await;
    let it = items(&list);
    assert_eq!(it.len(), 2);
    assert_eq!(it[0]["name"], "retorno");
    assert_eq!(it[0]["parameterFormat"], "POSITIONAL");
    assert_eq!(it[0]["variables"], json!(["1", "2"]));
    assert_eq!(it[1]["variables"], json!(["customer_name"]));
    assert!(items(
        &app.session(&unique("x"), "a-1", "agent")
            .templates(&[])
            .await
    )
    .is_empty());
    let bad = app
        .as_admin()
        .put_templates(&[], &json!({"data": [{"name": "x"}]}))
        .await;
    assert_eq!(
        (
            bad.status.as_u16(),
            bad.json_body()["error"]["code"].as_str()
        ),
        (422, Some("invalid_templates"))
    );
    assert_eq!(
        items(&app.as_agent("a-1").templates(&[]).await).len(),
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
        let app = TestApp::new(&f);
        async move {
            app.session(&tenant, "admin-1", &role)
                .sync_templates(&body)
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
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(
        r.json_body(),
        json!({"templates": 3, "approved": 2, "wabaId": waba})
    );
    let listed = items(&TestApp::new(&f).as_agent("a-1").templates(&[]).await);
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
        (
            bad.status.as_u16(),
            bad.json_body()["error"]["code"].as_str()
        ),
        (422, Some("invalid_templates"))
    );
    assert_eq!(
        items(&TestApp::new(&f).as_agent("a-1").templates(&[]).await).len(),
        2
    );
}

#[tokio::test]
async fn a_graph_refusal_during_sync_is_502_and_changes_nothing() {
    let f = fixture().await;
    let waba = bind_new_waba(&f, "8").await;
    // The sandbox has no templates for this account: Meta answers 400 (#100).
    let r = TestApp::new(&f)
        .as_admin()
        .sync_templates(&json!({"wabaId": waba}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json_body()["error"]["code"].as_str()),
        (502, Some("whatsapp_rejected"))
    );
    assert_eq!(r.json_body()["error"]["whatsappCode"], 100);
    let book = f.store.get_templates(&f.tenant).await.unwrap();
    assert!(book.accounts.is_empty() && book.any.is_none(), "{book:?}");
}

/// `PUT /channels/{pnid}` as an admin of `tenant`, naming `waba`.
async fn bind(app: &TestApp<'_>, tenant: &str, pnid: &str, waba: &str) -> ApiResponse {
    app.session(tenant, "admin-1", "admin")
        .put_channel(
            pnid,
            &json!({"wabaId": waba, "displayPhoneNumber": "+1", "defaultAgentId": "a-1"}),
        )
        .await
}

#[tokio::test]
async fn a_channel_binds_only_to_a_granted_account_that_lists_the_number() {
    let f = fixture().await;
    let app = TestApp::new(&f);
    let (a, b) = (unique("ta"), unique("tb"));
    f.graph
        .sandbox
        .set_phone_numbers("810000000000001", &["781000", "781001"]);
    // Not digits: refused before anything else, naming the field.
    let r = bind(&app, &a, "781000", "../me/accounts").await;
    assert_eq!(error_code(&r), (422, "invalid_channel".into()));
    assert_eq!(r.json_body()["error"]["details"][0]["field"], "wabaId");
    // Listed by Meta under the platform's token, but not granted to A.
    let r = bind(&app, &a, "781000", "810000000000001").await;
    assert_eq!(error_code(&r), (403, "business_account_not_granted".into()));
    assert_eq!(f.store.get_channel("781000").await.unwrap(), None);
    for account in ["810000000000001", "819999999999999"] {
        f.store.grant_account(&a, account).await.unwrap();
    }
    // A number the account does not list.
    let r = bind(&app, &a, "781999", "810000000000001").await;
    assert_eq!(
        error_code(&r),
        (422, "channel_not_in_business_account".into())
    );
    // An account Meta does not know.
    let r = bind(&app, &a, "781000", "819999999999999").await;
    assert_eq!(
        error_code(&r),
        (422, "channel_not_in_business_account".into())
    );
    assert_eq!(f.store.get_channel("781999").await.unwrap(), None);
    // Granted and listed: bound.
    assert_eq!(
        bind(&app, &a, "781000", "810000000000001").await.status,
        200
    );
    // Tenant B cannot bind the account's other number, nor be granted the account.
    let r = bind(&app, &b, "781001", "810000000000001").await;
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
        bind(&app, &a, "781001", "810000000000001").await.status,
        200
    );
}

#[tokio::test]
async fn an_admin_unbinds_a_number_and_can_bind_it_again() {
    let f = fixture().await;
    let app = TestApp::new(&f);
    let (a, b) = (unique("ta"), unique("tb"));
    f.graph
        .sandbox
        .set_phone_numbers("830000000000001", &["783000"]);
    f.store.grant_account(&a, "830000000000001").await.unwrap();
    assert_eq!(
        bind(&app, &a, "783000", "830000000000001").await.status,
        200
    );
    let unbind = |tenant: &str, role: &str| {
        let caller = app.session(tenant, "x-1", role);
        async move { caller.delete_channel("783000").await }
    };
    // Another tenant's admin and a supervisor of A change nothing.
    let r = unbind(&b, "admin").await;
    assert_eq!(error_code(&r), (404, "channel_not_bound".into()));
    assert_eq!(unbind(&a, "supervisor").await.status, 403);
    assert!(f.store.get_channel("783000").await.unwrap().is_some());
    let r = unbind(&a, "admin").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
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
        bind(&app, &a, "783000", "830000000000001").await.status,
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
    let app = TestApp::new(&f).with_settings(settings::Deps::new(f.store.clone(), Some(graph)));
    let t = unique("t");
    // An account not granted is refused before WhatsApp is asked anything.
    let r = bind(&app, &t, "782000", "820000000000001").await;
    assert_eq!(error_code(&r), (403, "business_account_not_granted".into()));
    f.store.grant_account(&t, "820000000000001").await.unwrap();
    let r = bind(&app, &t, "782000", "820000000000001").await;
    assert_eq!(error_code(&r), (503, "service_unavailable".into()));
    assert_eq!(f.store.get_channel("782000").await.unwrap(), None);
}
