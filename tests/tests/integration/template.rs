//! `template.yaml` cannot drift from the code: its routes are the local
//! gateway's, its table is `infra/table.json`, its functions are the
//! workspace's Lambda binaries.

use std::collections::BTreeSet;

use afterhours_local::gateway::ROUTES;
use serde_json::Value;

fn template() -> Value {
    let y: serde_yaml::Value = serde_yaml::from_str(include_str!("../../../template.yaml"))
        .expect("template.yaml is YAML");
    serde_json::to_value(y).expect("as JSON")
}

#[test]
fn the_http_routes_are_the_local_gateways() {
    let t = template();
    let mut in_template = BTreeSet::new();
    for (id, res) in t["Resources"].as_object().unwrap() {
        for ev in res["Properties"]["Events"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, e)| e)
        {
            if ev["Type"] == "HttpApi" {
                let p = &ev["Properties"];
                let open = p["Auth"]["Authorizer"] == "NONE";
                in_template.insert((
                    p["Method"].as_str().unwrap().to_string(),
                    p["Path"].as_str().unwrap().to_string(),
                    id.clone(),
                    !open,
                ));
            }
        }
    }
    let in_code: BTreeSet<(String, String, String, bool)> = ROUTES
        .iter()
        .map(|(m, p, f, auth)| {
            (
                m.to_string(),
                p.to_string(),
                f.template_id().to_string(),
                *auth,
            )
        })
        .collect();
    assert_eq!(in_template, in_code);
}

#[test]
fn the_table_is_infra_table_json() {
    let t = template();
    let props = &t["Resources"]["Table"]["Properties"];
    let def = afterhours_adapters::table::definition().unwrap();
    for (k, v) in def.as_object().unwrap() {
        assert_eq!(
            &props[k], v,
            "{k} differs between template.yaml and infra/table.json"
        );
    }
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
}

#[test]
fn every_function_is_a_workspace_binary_for_arm64() {
    let t = template();
    assert_eq!(t["Globals"]["Function"]["Runtime"], "provided.al2023");
    assert_eq!(
        t["Globals"]["Function"]["Architectures"],
        serde_json::json!(["arm64"])
    );
    let mut binaries = BTreeSet::new();
    for (_, res) in t["Resources"].as_object().unwrap() {
        if res["Type"] == "AWS::Serverless::Function" {
            assert_eq!(res["Metadata"]["BuildMethod"], "rust-cargolambda");
            binaries.insert(
                res["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    let expected: BTreeSet<String> = ["webhook", "contacts", "send", "settings", "report"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(binaries, expected);
    for b in &binaries {
        let manifest = std::fs::read_to_string(format!(
            "{}/../functions/{b}/Cargo.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert!(manifest.contains(&format!("name = \"{b}\"")));
    }
}

#[test]
fn an_idempotency_key_is_held_longer_than_the_send_function_may_run() {
    let t = template();
    let timeout = t["Resources"]["SendFunction"]["Properties"]["Timeout"]
        .as_i64()
        .or_else(|| t["Globals"]["Function"]["Timeout"].as_i64())
        .expect("a timeout for the send function");
    assert!(
        send::IDEMPOTENCY_HOLD_SECONDS > timeout,
        "a hold of {}s would free the key of a request still running (timeout {timeout}s)",
        send::IDEMPOTENCY_HOLD_SECONDS
    );
}

#[test]
fn the_openapi_description_has_exactly_the_routes_of_the_template_and_the_gateway() {
    let doc: serde_yaml::Value = serde_yaml::from_str(afterhours_local::gateway::OPENAPI_YAML)
        .expect("infra/openapi.yaml is YAML");
    let doc = serde_json::to_value(doc).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            described.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(described, routed);
    // Every operation lists each status it answers; each refusal is a
    // component answer in the one error shape, with a real example.
    let components = &doc["components"]["responses"];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{method} {path}");
            assert!(
                !responses.contains_key("default"),
                "{method} {path} names its statuses"
            );
            for (status, r) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                let name = r["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/responses/"))
                    .unwrap_or_else(|| panic!("{method} {path} {status} is a shared answer"));
                let content = &components[name]["content"]["application/json"];
                assert!(
                    content["example"].is_object() || content["examples"].is_object(),
                    "{name} has an example"
                );
            }
            let secured = op.get("security") != Some(&serde_json::json!([]));
            if secured {
                for status in ["400", "401", "403", "503"] {
                    if method == "get" && path == "/settings" && status == "400" {
                        continue;
                    }
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} answers {status}"
                    );
                }
            }
        }
    }
    // Every error code is documented on some answer.
    let text = serde_json::to_string(components).unwrap();
    for code in afterhours_adapters::error_code::ErrorCode::ALL {
        assert!(
            text.contains(code.as_str()),
            "{} is documented",
            code.as_str()
        );
    }
    // The cap's refusal as the API words it: the sentence and the caller's quota.
    let cap = &components["TooManyRequests"]["content"]["application/json"]["example"]["error"];
    assert!(cap["message"]
        .as_str()
        .unwrap()
        .contains("You can send another active message to this customer at 09:31 (in 52 min)."));
    assert_eq!(cap["quota"]["remaining"], 0);
    for path in ["/contacts/{id}/active-messages", "/active-messages"] {
        assert_eq!(
            doc["paths"][path]["post"]["responses"]["429"]["$ref"],
            "#/components/responses/TooManyRequests"
        );
    }
}

#[test]
fn the_sample_events_are_what_api_gateway_and_the_schedule_send() {
    use afterhours_adapters::http::ApiRequest;
    use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).unwrap()).unwrap()
    };
    for name in [
        "webhook-post.json",
        "webhook-verify.json",
        "contacts-get.json",
        "settings-get.json",
    ] {
        let ev: ApiGatewayV2httpRequest =
            serde_json::from_value(read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let req = ApiRequest::from_apigw(ev);
        assert!(!req.route_key.is_empty(), "{name}");
    }
    // The webhook sample is signed for `make run`'s app secret.
    let ev: ApiGatewayV2httpRequest = serde_json::from_value(read("webhook-post.json")).unwrap();
    let req = ApiRequest::from_apigw(ev);
    assert!(webhook::signature_ok(
        b"local-app-secret",
        &req.body,
        req.header("x-hub-signature-256")
    ));
    // Desk samples carry the claims the authorizer would pass.
    let ev: ApiGatewayV2httpRequest = serde_json::from_value(read("contacts-get.json")).unwrap();
    let caller = afterhours_adapters::http::Caller::from_claims(&ApiRequest::from_apigw(ev).claims);
    assert_eq!(caller.unwrap().tenant, "demo");
    // The continuation sample is signed with `make run`'s continuation key.
    let continuation = read("report-continuation.json");
    let local = report::Continuations::new(b"local-report-continuation-key");
    let half_an_hour_in =
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 22, 11, 30, 0).unwrap();
    assert_eq!(
        local
            .input_of(&continuation, half_an_hour_in)
            .unwrap()
            .after
            .as_deref(),
        Some("demo")
    );
    assert_eq!(
        local.input_of(&read("report-schedule.json"), half_an_hour_in),
        Ok(report::RunInput::default())
    );
}
