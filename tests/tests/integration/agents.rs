//! The desk's agent selector: the names people go by, the search, and the
//! counts (kept as they change) against DynamoDB Local.

use afterhours_adapters::http::ApiResponse;
use afterhours_tests::*;
use serde_json::{json, Value};

use crate::app::TestApp;
use crate::desk::{items, populated};
use crate::webhook::Fixture;

/// `GET /agents` as (agent, role) with extra token claims.
async fn agents_as(
    f: &Fixture,
    (agent, role): (&str, &str),
    extra: &[(&str, &str)],
    query: &[(&str, &str)],
) -> ApiResponse {
    let app = TestApp::new(f);
    let mut caller = app.session(&f.tenant, agent, role);
    for (k, v) in extra {
        caller = caller.claim(k, v);
    }
    caller.agents(query).await
}

fn rows(r: &ApiResponse) -> Vec<(String, String)> {
    items(r)
        .iter()
        .map(|a| {
            (
                a["agentId"].as_str().unwrap().to_string(),
                a["displayName"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn agents_go_by_the_name_their_token_carries_and_are_found_by_its_start() {
    let f = populated().await;
    // a-1 uses the desk with a name in their token, a-2 with only an email.
    agents_as(
        &f,
        ("a-1", "agent"),
        &[("name", " Ana\u{7} Souza "), ("email", "ana@x.com")],
        &[],
    )
    .await;
    let me = agents_as(&f, ("a-2", "agent"), &[("email", "bruno@x.com")], &[]).await;
    assert_eq!(
        me.json_body()["items"],
        json!([{"agentId": "a-2", "displayName": "bruno@x.com", "contacts": 1, "callbacksPending": 0}]),
        "an agent gets only themselves"
    );
    let all = agents_as(&f, ("s-1", "supervisor"), &[], &[]).await;
    assert_eq!(
        rows(&all),
        [
            ("a-1".into(), "Ana Souza".into()),
            ("a-2".into(), "bruno@x.com".into())
        ]
    );
    // By the start of the name or the id, ignoring case.
    let by_name = agents_as(&f, ("s-1", "supervisor"), &[], &[("q", "ana s")]).await;
    assert_eq!(rows(&by_name), [("a-1".into(), "Ana Souza".into())]);
    let by_id = agents_as(&f, ("s-1", "supervisor"), &[], &[("q", "A-2")]).await;
    assert_eq!(rows(&by_id), [("a-2".into(), "bruno@x.com".into())]);
    let none = agents_as(&f, ("s-1", "supervisor"), &[], &[("q", "souza")]).await;
    assert!(
        items(&none).is_empty(),
        "the start of the name, not any part"
    );
    // A cursor of one search does not page another.
    let p1 = agents_as(
        &f,
        ("s-1", "supervisor"),
        &[],
        &[("q", "a"), ("limit", "1")],
    )
    .await;
    let cursor = p1.json_body()["nextCursor"].as_str().unwrap().to_string();
    let p2 = agents_as(
        &f,
        ("s-1", "supervisor"),
        &[],
        &[("q", "a"), ("limit", "1"), ("cursor", &cursor)],
    )
    .await;
    assert_eq!(rows(&p2)[0].0, "a-2");
    let other = agents_as(
        &f,
        ("s-1", "supervisor"),
        &[],
        &[("q", "b"), ("cursor", &cursor)],
    )
    .await;
    assert_eq!(error_code(&other), (400, "invalid_cursor".into()));
    // A new name replaces the old one.
    agents_as(&f, ("a-1", "agent"), &[("name", "Ana S.")], &[]).await;
    let renamed = agents_as(&f, ("s-1", "supervisor"), &[], &[("q", "a-1")]).await;
    assert_eq!(rows(&renamed), [("a-1".into(), "Ana S.".into())]);
}

#[tokio::test]
async fn a_handled_callback_is_not_pending_and_24_7_mode_counts_nothing() {
    let f = populated().await;
    let recs = f.records("a-1").await;
    let maria = recs
        .iter()
        .find(|r| r.name.as_deref() == Some("Maria"))
        .unwrap();
    f.store
        .answer_callback(&afterhours_adapters::model::Tap {
            tenant: &f.tenant,
            customer: &maria.key.customer,
            prompt_wamid: maria.prompt_wamid.as_deref().unwrap(),
            yes: true,
            at: crate::webhook::night(),
        })
        .await
        .unwrap();
    let pending = |r: &ApiResponse| items(r)[0]["callbacksPending"].clone();
    let before = agents_as(&f, ("a-1", "agent"), &[], &[]).await;
    assert_eq!(pending(&before), json!(1));
    let now = crate::webhook::night() + chrono::Duration::hours(1);
    f.store
        .mark_handled(&maria.key, "a-1", None, now)
        .await
        .unwrap();
    let after = agents_as(&f, ("a-1", "agent"), &[], &[]).await;
    assert_eq!(
        (pending(&after), items(&after)[0]["contacts"].clone()),
        (json!(0), json!(3))
    );

    let mut open = crate::webhook::settings(true, true);
    open["language"] = Value::from("en_US");
    f.store.put_settings(&f.tenant, &open).await.unwrap();
    let r = agents_as(&f, ("s-1", "admin"), &[], &[]).await;
    assert_eq!(
        r.json_body()["items"],
        json!([
            {"agentId": "a-1", "displayName": "a-1", "contacts": 0, "callbacksPending": 0},
            {"agentId": "a-2", "displayName": "a-2", "contacts": 0, "callbacksPending": 0},
        ])
    );
}
