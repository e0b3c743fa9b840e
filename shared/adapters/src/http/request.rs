//! The request as API Gateway's HTTP API (payload 2.0) hands it over, and
//! reading its parts: path ids, the query, the JSON body within its limit.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::http::Method;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use crate::error_code::ErrorCode;

/// A header map as (lowercase name, value) pairs; values that are not text are dropped.
pub fn header_pairs(
    h: &aws_lambda_events::http::HeaderMap,
) -> impl Iterator<Item = (String, String)> + '_ {
    h.iter().filter_map(|(k, v)| {
        Some((
            k.as_str().to_ascii_lowercase(),
            v.to_str().ok()?.to_string(),
        ))
    })
}

/// A request, independent of how it arrived (Lambda or the local gateway).
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub path_params: HashMap<String, String>,
    pub query: HashMap<String, String>,
    /// Header names in lowercase.
    pub headers: HashMap<String, String>,
    /// The raw body bytes (base64-decoded when API Gateway said so).
    pub body: Vec<u8>,
    /// The JWT claims the authorizer verified, as strings.
    pub claims: HashMap<String, String>,
    pub request_id: String,
    /// API Gateway's route key (`GET /contacts/{id}`): what logs name, never the raw path.
    pub route_key: String,
}

/// The largest body the desk API takes (its JSON is small; a bigger body is a mistake or abuse).
pub const MAX_DESK_BODY_BYTES: usize = 64 * 1024;
/// The longest id accepted in a path (DynamoDB keys are bounded; ours are short).
pub const MAX_PATH_ID_CHARS: usize = 128;

impl ApiRequest {
    /// Reads API Gateway's HTTP API event. A body marked base64 that does not
    /// decode is kept as it came (the signature check will then refuse it).
    pub fn from_apigw(ev: ApiGatewayV2httpRequest) -> Self {
        let headers = header_pairs(&ev.headers).collect();
        // API Gateway joins a repeated key's values with commas, and the
        // event's reader splits them again, commas inside a value included:
        // joined back, a value reads as it was sent.
        let mut query: HashMap<String, String> = HashMap::new();
        for (k, v) in ev.query_string_parameters.iter() {
            query
                .entry(k.to_string())
                .and_modify(|joined| {
                    joined.push(',');
                    joined.push_str(v);
                })
                .or_insert_with(|| v.to_string());
        }
        let raw = ev.body.unwrap_or_default();
        let body = if ev.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(raw.as_bytes())
                .unwrap_or_else(|_| raw.into_bytes())
        } else {
            raw.into_bytes()
        };
        let ctx = ev.request_context;
        ApiRequest {
            method: ctx.http.method.clone(),
            path: ev.raw_path.unwrap_or_default(),
            path_params: ev.path_parameters,
            query,
            headers,
            body,
            claims: ctx
                .authorizer
                .and_then(|a| a.jwt)
                .map(|j| j.claims)
                .unwrap_or_default(),
            request_id: ctx.request_id.unwrap_or_default(),
            route_key: ev.route_key.unwrap_or_default(),
        }
    }

    /// 413 when the body is larger than `max` bytes.
    pub fn limit_body(&self, max: usize) -> Result<(), ApiError> {
        if self.body.len() > max {
            return Err(ApiError::TooLarge(format!(
                "The body is larger than {} KB.",
                max / 1024
            )));
        }
        Ok(())
    }

    /// A path parameter that names a stored thing: 404 when missing, 400 when
    /// longer than any id this service issues.
    pub fn path_id(&self, name: &str) -> Result<&str, ApiError> {
        let id = self
            .path_param(name)
            .ok_or_else(|| ApiError::NotFound(format!("No {name} in the path.")))?;
        if id.chars().count() > MAX_PATH_ID_CHARS {
            return Err(ApiError::BadRequest {
                code: ErrorCode::InvalidId,
                message: format!("{name} is longer than {MAX_PATH_ID_CHARS} characters."),
            });
        }
        Ok(id)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params.get(name).map(String::as_str)
    }

    /// The body as a JSON value, or a 400 that says why not.
    pub fn json_body(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ApiError::BadRequest {
            code: ErrorCode::InvalidJson,
            message: format!("The body is not valid JSON: {e}"),
        })
    }

    /// The body read into a request type: not JSON → 400 `invalid_json`; JSON
    /// of the wrong shape → 400 with `code` and serde's reason.
    pub fn body_as<T: DeserializeOwned>(&self, code: ErrorCode) -> Result<T, ApiError> {
        let v = self.json_body()?;
        serde_json::from_value(v).map_err(|e| ApiError::BadRequest {
            code,
            message: format!("The body is not a valid request: {e}"),
        })
    }
}
