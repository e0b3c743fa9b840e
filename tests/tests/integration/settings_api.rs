//! Settings through the admin API against DynamoDB Local: who may read and
//! write them, validation, versions and patches, and the language answers
//! are written in.

use afterhours_tests::*;
use serde_json::{json, Value};

use crate::app::TestApp;
use crate::webhook::fixture;

#[tokio::test]
async fn a_group_that_only_looks_like_admin_cannot_write_settings() {
    let f = fixture().await;
    let app = TestApp::new(&f);
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("Asia/Tokyo");
    for groups in ["[Admins]", "[ADMIN]", "[sales,admin]", "[\"sales,admin\"]"] {
        let res = app
            .session(&f.tenant, "boss", "admin")
            .claim("cognito:groups", groups)
            .put_settings(&s)
            .await;
        assert_eq!(error_code(&res), (403, "forbidden".to_string()), "{groups}");
    }
    assert_eq!(
        f.store.get_settings(&f.tenant).await.unwrap().unwrap()["timezone"],
        "America/Sao_Paulo"
    );
    // The exact name, in API Gateway's flattened list, is an admin.
    let ok = app
        .session(&f.tenant, "boss", "admin")
        .claim("cognito:groups", "[sales admin]")
        .put_settings(&s)
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
}

#[tokio::test]
async fn settings_are_read_by_anyone_and_written_by_admins_only() {
    let f = fixture().await;
    let app = TestApp::new(&f);
    let fresh = unique("fresh");
    let d = app.session(&fresh, "admin-1", "agent").get_settings().await;
    assert_eq!(d.status.as_u16(), 200);
    assert_eq!(d.json_body()["isDefault"], true);
    assert_eq!(d.json_body()["timezone"], "America/Sao_Paulo");
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("Asia/Tokyo");
    for role in ["supervisor", "agent"] {
        let refused = app.session(&fresh, "admin-1", role).put_settings(&s).await;
        assert_eq!(
            error_code(&refused),
            (403, "forbidden".to_string()),
            "{role}"
        );
        let between = app
            .session(&fresh, "admin-1", "agent")
            .get_settings()
            .await
            .json_body();
        assert_eq!(
            (between["timezone"].as_str(), between["isDefault"].as_bool()),
            (Some("America/Sao_Paulo"), Some(true)),
            "a {role}'s write changed nothing"
        );
    }
    assert_eq!(f.store.get_settings(&fresh).await.unwrap(), None);
    let ok = app
        .session(&fresh, "admin-1", "admin")
        .put_settings(&s)
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
    let back = app
        .session(&fresh, "admin-1", "agent")
        .get_settings()
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
    let app = TestApp::new(&f);
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("Nowhere/City");
    s["businessHours"]["weekly"]["mon"] = json!([["08:00", "12:00"], ["11:00", "13:00"]]);
    s["activeMessageLimit"]["maxPerContactPer24h"] = json!(0);
    let r = app.as_admin().put_settings(&s).await;
    assert_eq!(r.status.as_u16(), 422);
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
    let bad_json = app
        .as_admin()
        .raw_body(b"{nope")
        .put_settings(&Value::Null)
        .await;
    assert_eq!(
        (
            bad_json.status.as_u16(),
            bad_json.json_body()["error"]["code"].as_str()
        ),
        (400, Some("invalid_json"))
    );
    let wrong_type = app.as_admin().put_settings(&json!({"timezone": 3})).await;
    assert_eq!(wrong_type.status.as_u16(), 422);
}

#[tokio::test]
async fn a_new_tenant_starts_with_the_cap_off() {
    let f = fixture().await;
    let r = TestApp::new(&f)
        .session(&unique("new"), "admin-1", "agent")
        .get_settings()
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(
        r.json_body()["activeMessageLimit"],
        json!({"enabled": false, "maxPerContactPer24h": 2})
    );
}

#[tokio::test]
async fn settings_carry_an_etag_and_a_stale_if_match_is_412() {
    let f = fixture().await;
    let app = TestApp::new(&f);
    let t = unique("etag");
    let first = app.session(&t, "admin-1", "admin").get_settings().await;
    let tag0 = first
        .header("etag")
        .expect("GET /settings has an ETag")
        .to_string();
    // Admin A saves with the tag they read; admin B, who read the same tag, gets 412.
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("Europe/Madrid");
    let a = app
        .session(&t, "admin-1", "admin")
        .header("if-match", &tag0)
        .put_settings(&s)
        .await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.body);
    let tag1 = a.header("etag").unwrap().to_string();
    assert_ne!(tag0, tag1);
    s["timezone"] = json!("Asia/Tokyo");
    let b = app
        .session(&t, "admin-1", "admin")
        .header("if-match", &tag0)
        .put_settings(&s)
        .await;
    assert_eq!(error_code(&b), (412, "precondition_failed".to_string()));
    let b = app
        .session(&t, "admin-1", "admin")
        .header("if-match", &tag0)
        .patch_settings(&json!({"language": "es_ES"}))
        .await;
    assert_eq!(error_code(&b), (412, "precondition_failed".to_string()));
    let now = app.session(&t, "admin-1", "admin").get_settings().await;
    assert_eq!(
        now.json_body()["timezone"],
        "Europe/Madrid",
        "unchanged by B"
    );
    assert_eq!(now.json_body()["language"], s["language"]);
    assert_eq!(now.header("etag"), Some(tag1.as_str()));
    // Without If-Match, a write applies to whatever is current.
    let c = app
        .session(&t, "admin-1", "admin")
        .patch_settings(&json!({"alwaysOpen": true}))
        .await;
    assert_eq!(c.status.as_u16(), 200, "{}", c.body);
    assert_ne!(c.header("etag"), Some(tag1.as_str()));
}

#[tokio::test]
async fn a_patch_of_the_cap_leaves_everything_else_as_it_was() {
    let f = fixture().await;
    let app = TestApp::new(&f);
    let t = unique("patch");
    let mut s = crate::webhook::settings(true, false);
    s["timezone"] = json!("America/Bogota");
    s["language"] = json!("es_ES");
    assert_eq!(
        app.session(&t, "admin-1", "admin")
            .put_settings(&s)
            .await
            .status,
        200
    );
    let before = app.session(&t, "admin-1", "admin").get_settings().await;
    let tag = before.header("etag").unwrap().to_string();
    let patch = json!({"activeMessageLimit": {"enabled": false, "maxPerContactPer24h": 5}});
    let r = app
        .session(&t, "admin-1", "admin")
        .header("if-match", &tag)
        .patch_settings(&patch)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let after = app
        .session(&t, "admin-1", "admin")
        .get_settings()
        .await
        .json_body();
    let mut expected = before.json_body();
    expected["activeMessageLimit"] = patch["activeMessageLimit"].clone();
    assert_eq!(after, expected);
    // Only one field of the section: the other keeps its value.
    let r = app
        .session(&t, "admin-1", "admin")
        .patch_settings(&json!({"activeMessageLimit": {"enabled": true}}))
        .await;
    assert_eq!(
        r.json_body()["activeMessageLimit"],
        json!({"enabled": true, "maxPerContactPer24h": 5})
    );
    // A patch that makes the settings invalid is 422 on its field and changes nothing.
    let bad = app
        .session(&t, "admin-1", "admin")
        .patch_settings(&json!({"activeMessageLimit": {"maxPerContactPer24h": 0}}))
        .await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.body);
    assert!(
        bad.body.contains("activeMessageLimit.maxPerContactPer24h"),
        "{}",
        bad.body
    );
    let last = app
        .session(&t, "admin-1", "admin")
        .get_settings()
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
        TestApp::new(&f)
            .session(&t, "admin-1", "admin")
            .put_settings(&crate::webhook::settings(true, false))
            .await
            .status,
        200
    );
    let (lang, zone) = (
        json!({"language": "en_US"}),
        json!({"timezone": "Asia/Tokyo"}),
    );
    let app = TestApp::new(&f);
    let (one, other) = (
        app.session(&t, "admin-1", "admin"),
        app.session(&t, "admin-1", "admin"),
    );
    let (a, b) = tokio::join!(one.patch_settings(&lang), other.patch_settings(&zone));
    assert_eq!(
        (a.status.as_u16(), b.status.as_u16()),
        (200, 200),
        "{} {}",
        a.body,
        b.body
    );
    let now = app
        .session(&t, "admin-1", "admin")
        .get_settings()
        .await
        .json_body();
    assert_eq!(
        (now["language"].as_str(), now["timezone"].as_str()),
        (Some("en_US"), Some("Asia/Tokyo"))
    );
}

#[tokio::test]
async fn messages_for_people_speak_the_tenants_language_and_accept_language_wins() {
    let f = fixture().await;
    let missing = |tenant: String, accept: Option<&'static str>| {
        let f = &f;
        async move {
            let app = TestApp::new(f);
            let mut caller = app.session(&tenant, "a-1", "agent");
            if let Some(a) = accept {
                caller = caller.header("accept-language", a);
            }
            let res = caller.contact("bm9uZQ").await;
            let b = res.json_body();
            (
                res.status.as_u16(),
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
