//! A response, independent of how it leaves (Lambda or the local gateway).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::StatusCode;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// A response, independent of how it leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl ApiResponse {
    /// A JSON response of any serializable body.
    pub fn json(status: StatusCode, v: &impl Serialize) -> Self {
        ApiResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            // Serializing plain data structs to a String cannot fail.
            body: serde_json::to_string(v).unwrap_or_else(|_| "null".into()),
        }
    }

    /// `{"error": {"code", "message"}}`: the one error shape of every route.
    pub fn error(status: StatusCode, code: &str, message: &str) -> Self {
        Self::error_with(status, code, message, Map::new(), vec![])
    }

    pub(super) fn error_with(
        status: StatusCode,
        code: &str,
        message: &str,
        details: Map<String, Value>,
        extra_headers: Vec<(String, String)>,
    ) -> Self {
        let mut e = Map::new();
        e.insert("code".into(), json!(code));
        e.insert("message".into(), json!(message));
        e.extend(details);
        let mut r = Self::json(status, &json!({ "error": e }));
        r.headers.extend(extra_headers);
        r
    }

    pub fn text(status: StatusCode, s: &str) -> Self {
        ApiResponse {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: s.to_string(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json_body(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn to_apigw(&self) -> ApiGatewayV2httpResponse {
        let mut r = ApiGatewayV2httpResponse::default();
        r.status_code = i64::from(self.status.as_u16());
        for (k, v) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                k.parse::<aws_lambda_events::http::HeaderName>(),
                v.parse::<aws_lambda_events::http::HeaderValue>(),
            ) {
                r.headers.insert(name, value);
            }
        }
        r.body = Some(Body::Text(self.body.clone()));
        r
    }
}
