//! No handler panics on any input: random methods, paths, queries, headers
//! and bodies through the local gateway with a valid token, against DynamoDB
//! Local. Every answer is a status the API documents, with a JSON error body.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use afterhours_adapters::cursor::CursorSigner;
use afterhours_adapters::events::Publisher;
use afterhours_adapters::lambda::fixed_clock;
use afterhours_local::gateway::Gateway;
use afterhours_local::server::HttpRequest;
use afterhours_tests::*;
use proptest::prelude::*;

use crate::webhook::{fixture, night};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_./%#=&?{}\\[\\]\" -]{0,40}",
        "\\PC{0,20}",
        Just("x".repeat(3000)),
        Just("`a__`".to_string()),
        Just("99999999999999999999".to_string()),
        Just("-1".to_string()),
        Just("n/a".to_string()),
        Just("{\"template\": {\"name\": 1}}".to_string()),
        Just("{\"timezone\": []}".to_string()),
    ]
}

#[test]
fn no_request_makes_a_handler_panic() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (gateway, tenant, secret) = rt.block_on(async {
        let f = fixture().await;
        f.store
            .put_templates(&f.tenant, &afterhours_tests::meta_templates())
            .await
            .unwrap();
        let secret = b"robust".to_vec();
        let eb = eventbridge().await;
        let clock = fixed_clock(night());
        let g = Gateway::new(
            webhook::Deps::new(
                f.store.clone(),
                f.graph.client(),
                APP_SECRET,
                "v",
                clock.clone(),
            ),
            contacts::Deps {
                store: f.store.clone(),
                cursors: CursorSigner::new(b"c").unwrap(),
                clock: clock.clone(),
                rules: Default::default(),
                names: contacts::name_cache(),
            },
            send::Deps {
                rules: Default::default(),
                store: f.store.clone(),
                graph: f.graph.client(),
                events: Publisher::new(eb.clone(), "robust"),
                clock: clock.clone(),
            },
            settings::Deps::new(f.store.clone(), Some(f.graph.client())),
            report::Deps::new(f.store.clone(), Publisher::new(eb, "robust"), clock),
            afterhours_local::jwt::Authorizer::local(&secret),
        );
        (Arc::new(g), f.tenant.clone(), secret)
    });
    let token = afterhours_local::jwt::token_for(
        &secret,
        &tenant,
        "a-1",
        "admin",
        chrono::Utc::now().timestamp(),
        3600,
    );
    let request = (
        prop_oneof![
            Just("GET"),
            Just("POST"),
            Just("PUT"),
            Just("PATCH"),
            Just("DELETE")
        ],
        prop_oneof![
            Just("/contacts".to_string()),
            Just("/settings".to_string()),
            Just("/templates".to_string()),
            Just("/agents".to_string()),
            Just("/quota".to_string()),
            Just("/active-messages".to_string()),
            text().prop_map(|t| format!("/desk/{t}")),
            text().prop_map(|t| format!("/contacts/{t}")),
            text().prop_map(|t| format!("/contacts/{t}/quota")),
            text().prop_map(|t| format!("/contacts/{t}/active-messages")),
            text().prop_map(|t| format!("/channels/{t}")),
            text().prop_map(|t| format!("/{t}")),
        ],
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("agentId"),
                    Just("limit"),
                    Just("cursor"),
                    Just("requestedCallback"),
                    Just("messageSent"),
                    Just("contact"),
                    Just("channel")
                ],
                text(),
            ),
            0..4,
        ),
        text(),
        proptest::option::of(text()),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    });
    runner
        .run(&request, |(method, path, query, body, idem)| {
            let raw_query = query
                .iter()
                .map(|(k, v)| format!("{k}={}", v.replace(['&', '#', ' '], "_")))
                .collect::<Vec<_>>()
                .join("&");
            let mut headers = vec![("authorization".to_string(), format!("Bearer {token}"))];
            if let Some(k) = idem {
                headers.push(("idempotency-key".into(), k.clone()));
                headers.push(("accept-language".into(), k.clone()));
                headers.push(("if-match".into(), k));
            }
            let req = HttpRequest {
                method: method.into(),
                path: path.replace(['?', '#', ' '], "_"),
                raw_query,
                headers,
                body: body.into_bytes(),
            };
            let desk_page =
                req.method == "GET" && (req.path == "/" || req.path.starts_with("/desk"));
            let res = rt.block_on(gateway.handle(req));
            if desk_page {
                // The desk's static files: a file, a redirect to /desk/, or not found.
                prop_assert!([200, 302, 404].contains(&res.status), "{}", res.status);
                return Ok(());
            }
            prop_assert!(
                [200, 400, 401, 403, 404, 409, 412, 413, 422, 429, 502].contains(&res.status),
                "{} {}",
                res.status,
                String::from_utf8_lossy(&res.body)
            );
            let json: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_default();
            prop_assert!(
                res.status == 200 || json.get("error").is_some() || json.get("message").is_some(),
                "{}",
                String::from_utf8_lossy(&res.body)
            );
            Ok(())
        })
        .unwrap();
}

/// A store whose DynamoDB never answers: any storage call is a 503, so a 4xx
/// proves the request was refused before reaching storage.
fn dead_store() -> afterhours_adapters::store::Store {
    store_at("http://127.0.0.1:9")
}

/// A store client without retries, on `endpoint`.
fn store_at(endpoint: &str) -> afterhours_adapters::store::Store {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests())
        .endpoint_url(endpoint)
        .http_client(afterhours_adapters::tls::aws_https_client(None).unwrap())
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    afterhours_adapters::store::Store::new(aws_sdk_dynamodb::Client::from_conf(conf), "dead")
}

/// A store whose endpoint accepts connections, counts them and closes them
/// unanswered: every storage call fails, and is counted.
async fn watched_dead_store() -> (afterhours_adapters::store::Store, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (store_at(&format!("http://127.0.0.1:{port}")), calls)
}

/// Arbitrary JSON, with the desk's own field names so values reach deeper checks.
fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    let key = prop_oneof![
        Just("template".to_string()),
        Just("name".to_string()),
        Just("language".to_string()),
        Just("variables".to_string()),
        Just("wabaId".to_string()),
        Just("displayPhoneNumber".to_string()),
        Just("alwaysOpen".to_string()),
        text(),
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[test]
fn no_body_makes_a_handler_panic_and_bad_ones_never_reach_storage() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (store, calls) = rt.block_on(watched_dead_store());
    let graph = rt.block_on(GraphStandIn::start());
    let send_deps = send::Deps {
        rules: Default::default(),
        store: store.clone(),
        graph: graph.client(),
        events: Publisher::new(rt.block_on(eventbridge()), "unused"),
        clock: fixed_clock(night()),
    };
    let settings_deps = settings::Deps::new(store.clone(), Some(graph.client()));
    let record = afterhours_adapters::model::RecordKey {
        tenant: "t".into(),
        agent: "a-1".into(),
        customer: "5511".into(),
        period: 1,
    }
    .id();
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json().prop_map(|v| v.to_string().into_bytes()),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    });
    runner
        .run(&(0..5usize, body), |(route, body)| {
            let (method, path) = match route {
                0 => ("POST", format!("/contacts/{record}/active-messages")),
                1 => ("POST", "/active-messages".to_string()),
                2 => ("PUT", "/channels/555".to_string()),
                3 => ("PATCH", "/settings".to_string()),
                _ => ("PUT", "/settings".to_string()),
            };
            let mut req = api(method, &path, claims("t", "a-1", "admin"));
            if route == 0 {
                req.path_params.insert("id".into(), record.clone());
            }
            req.path_params.insert("phoneNumberId".into(), "555".into());
            // The answer's language is asked for: no error path looks up the tenant's.
            req.headers.insert("accept-language".into(), "en-US".into());
            req.body = body;
            let before = calls.load(Ordering::SeqCst);
            let res = rt.block_on(async {
                match route {
                    0 | 1 => send::handle(&send_deps, req).await,
                    _ => settings::handle(&settings_deps, req).await,
                }
            });
            let reached = calls.load(Ordering::SeqCst) - before;
            // A refused body made no storage call; a 503 is only ever a valid
            // request that reached the dead storage. Never a panic or a 500.
            match res.status.as_u16() {
                400..=499 => {
                    prop_assert_eq!(reached, 0, "{} {} reached storage", res.status, res.body)
                }
                503 => prop_assert!(reached > 0, "503 without a storage call: {}", res.body),
                other => prop_assert!(false, "{} {}", other, res.body),
            }
            prop_assert!(res.json_body()["error"]["code"].is_string(), "{}", res.body);
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn inputs_over_their_bounds_are_refused_before_any_storage_call() {
    let store = dead_store();
    let contacts_deps = contacts::Deps {
        store: store.clone(),
        cursors: CursorSigner::new(b"c").unwrap(),
        clock: fixed_clock(night()),
        rules: Default::default(),
        names: contacts::name_cache(),
    };
    let settings_deps = settings::Deps::new(store.clone(), None);
    let long = "x".repeat(3000);
    let code = |r: &afterhours_adapters::http::ApiResponse| {
        (
            r.status.as_u16(),
            r.json_body()["error"]["code"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    // An agent id DynamoDB would refuse as a key (over 2,048 bytes there; over 128 here).
    let mut req = api("GET", "/contacts", claims("t", "s-1", "supervisor"));
    req.query.insert("agentId".into(), long.clone());
    let r = contacts::handle(&contacts_deps, req).await;
    assert_eq!(code(&r), (400, "invalid_query".into()));
    // A path id longer than any id this service issues.
    let mut req = api(
        "GET",
        &format!("/contacts/{long}"),
        claims("t", "a-1", "agent"),
    );
    req.path_params.insert("id".into(), long.clone());
    let r = contacts::handle(&contacts_deps, req).await;
    assert_eq!(code(&r), (400, "invalid_id".into()));
    // A body over 64 KB.
    let huge = serde_json::json!({ "timezone": "x".repeat(70 * 1024) });
    let r = settings::handle(
        &settings_deps,
        with_body(api("PUT", "/settings", claims("t", "adm", "admin")), &huge),
    )
    .await;
    assert_eq!(code(&r), (413, "payload_too_large".into()));
    // A token subject over 128 characters is no identity.
    let r = contacts::handle(
        &contacts_deps,
        api("GET", "/contacts", claims("t", &long, "agent")),
    )
    .await;
    assert_eq!(r.status.as_u16(), 401);
}
