//! No handler panics on any input: random methods, paths, queries, headers
//! and bodies through the local gateway with a valid token, against DynamoDB
//! Local. Every answer is a status the API documents, with a JSON error body.

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
            .put_templates(&f.tenant, &crate::desk::meta_templates())
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
                cursors: CursorSigner::new(b"c"),
                clock: clock.clone(),
                rules: Default::default(),
            },
            send::Deps {
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
        prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")],
        prop_oneof![
            Just("/contacts".to_string()),
            Just("/settings".to_string()),
            Just("/templates".to_string()),
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
                    Just("messageSent")
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
                headers.push(("idempotency-key".into(), k));
            }
            let req = HttpRequest {
                method: method.into(),
                path: path.replace(['?', '#', ' '], "_"),
                raw_query,
                headers,
                body: body.into_bytes(),
            };
            let res = rt.block_on(gateway.handle(req));
            prop_assert!(
                [200, 400, 401, 403, 404, 409, 422, 429, 502].contains(&res.status),
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
