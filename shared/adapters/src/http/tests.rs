use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::{json, Map};

use super::*;
use crate::store::{DynamoFailure, StoreError};

fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn cognito_claims_as_api_gateway_passes_them() {
    let c = Caller::from_claims(&claims(&[
        ("sub", "a-1"),
        ("custom:tenant_id", "t1"),
        ("cognito:groups", "[agent admin]"),
    ]))
    .unwrap();
    assert_eq!(
        c,
        Caller {
            tenant: "t1".into(),
            agent: "a-1".into(),
            role: Role::Admin
        }
    );
    let c = Caller::from_claims(&claims(&[
        ("sub", "s"),
        ("custom:tenant_id", "t"),
        ("cognito:groups", "[\"agent\",\"supervisor\"]"),
    ]))
    .unwrap();
    assert_eq!(c.role, Role::Supervisor);
    let c = Caller::from_claims(&claims(&[
        ("sub", "s"),
        ("custom:tenant_id", "t"),
        ("cognito:groups", "agent"),
    ]))
    .unwrap();
    assert_eq!(c.role, Role::Agent);
}

#[test]
fn roles_are_matched_by_exact_name_only() {
    let role = |groups: &str| {
        Caller::from_claims(&claims(&[
            ("sub", "a"),
            ("custom:tenant_id", "t"),
            ("cognito:groups", groups),
        ]))
        .map(|c| c.role)
        .map_err(|e| (e.status().as_u16(), e.code()))
    };
    assert_eq!(role("[sales admin]"), Ok(Role::Admin));
    assert_eq!(role("[\"sales\", \"supervisor\"]"), Ok(Role::Supervisor));
    for no_role in [
        "[Admins]",
        "[ADMIN]",
        "[sales,admin]",
        "sales,admin",
        "[\"sales,admin\"]",
        "[admins]",
        "[Agent]",
        "[]",
        "",
    ] {
        assert_eq!(role(no_role), Err((403, "forbidden")), "{no_role}");
    }
}

#[test]
fn the_local_stacks_shorthand_claims_are_not_accepted() {
    // `tenant_id` / `role` are the local gateway's to map; a token that
    // carries only them is refused by the functions (in AWS too).
    let only_shorthand = claims(&[("sub", "a"), ("tenant_id", "t"), ("role", "admin")]);
    assert_eq!(
        Caller::from_claims(&only_shorthand).unwrap_err().status(),
        401
    );
    let shorthand_role = claims(&[("sub", "a"), ("custom:tenant_id", "t"), ("role", "admin")]);
    assert_eq!(
        Caller::from_claims(&shorthand_role).unwrap_err().status(),
        403
    );
}

#[test]
fn a_missing_or_unusable_claim_is_401() {
    for c in [
        claims(&[("custom:tenant_id", "t"), ("cognito:groups", "agent")]),
        claims(&[("sub", "a"), ("cognito:groups", "agent")]),
        claims(&[
            ("sub", "a#b"),
            ("custom:tenant_id", "t"),
            ("cognito:groups", "agent"),
        ]),
        claims(&[
            ("sub", "a".repeat(129).as_str()),
            ("custom:tenant_id", "t"),
            ("cognito:groups", "agent"),
        ]),
    ] {
        assert_eq!(Caller::from_claims(&c).unwrap_err().status(), 401, "{c:?}");
    }
}

#[test]
fn errors_have_one_json_shape() {
    let r = ApiError::TooManyRequests {
        code: ErrorCode::ActiveMessageLimitReached,
        message: "wait".into(),
        retry_after_seconds: 60,
        details: Map::from_iter([("retryAfterSeconds".to_string(), json!(60))]),
    }
    .to_response();
    assert_eq!(r.status.as_u16(), 429);
    assert_eq!(r.header("Retry-After"), Some("60"));
    assert_eq!(
        r.json_body(),
        json!({"error": {"code": "active_message_limit_reached", "message": "wait", "retryAfterSeconds": 60}})
    );
}

#[test]
fn storage_failures_are_mapped_in_one_place() {
    let throttled = ApiError::from(StoreError::Dynamo {
        kind: DynamoFailure::Throttled,
        detail: "ThrottlingError".into(),
    })
    .to_response();
    assert_eq!(throttled.status.as_u16(), 503);
    assert_eq!(throttled.header("Retry-After"), Some("2"));
    let other = ApiError::from(StoreError::Dynamo {
        kind: DynamoFailure::Other,
        detail: "boom".into(),
    });
    assert_eq!(
        (other.status().as_u16(), other.code()),
        (503, "service_unavailable")
    );
    assert!(
        !other.to_string().contains("boom"),
        "details stay in the log"
    );
    assert_eq!(
        ApiError::from(StoreError::BadCursor).code(),
        "invalid_cursor"
    );
    assert_eq!(
        ApiError::from(StoreError::ChannelTaken("1".into())).status(),
        409
    );
}

#[test]
fn base64_bodies_are_decoded() {
    let ev: ApiGatewayV2httpRequest = serde_json::from_value(json!({
        "version": "2.0", "rawPath": "/webhook", "headers": {"X-Hub-Signature-256": "sha256=ab"},
        "requestContext": {"http": {"method": "POST", "path": "/webhook"}, "requestId": "r1"},
        "body": "eyJhIjoxfQ==", "isBase64Encoded": true
    }))
    .unwrap();
    let r = ApiRequest::from_apigw(ev);
    assert_eq!(r.body, br#"{"a":1}"#);
    assert_eq!(r.header("x-hub-signature-256"), Some("sha256=ab"));
    assert_eq!(r.method, "POST");
}

#[test]
fn a_query_value_with_commas_reads_as_it_was_sent() {
    let ev: ApiGatewayV2httpRequest = serde_json::from_value(json!({
        "version": "2.0", "rawPath": "/agents", "rawQueryString": "q=ana%2Cbia&limit=5",
        "queryStringParameters": {"q": "ana,bia", "limit": "5"},
        "requestContext": {"http": {"method": "GET", "path": "/agents"}, "requestId": "r1"},
        "isBase64Encoded": false
    }))
    .unwrap();
    let r = ApiRequest::from_apigw(ev);
    assert_eq!(r.query["q"], "ana,bia");
    assert_eq!(r.query["limit"], "5");
}
