//! The HTTP edge shared by every API function: the request as API Gateway's
//! HTTP API (payload 2.0) hands it over, the caller's claims, and the one
//! error type with its single mapping to a status and JSON body.

use std::collections::HashMap;

use afterhours_rules::ids::{Ident, IdentError};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

pub use crate::error_code::ErrorCode;
use crate::i18n::Lang;
use crate::store::{DynamoFailure, StoreError};

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
    pub method: String,
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
        let query = ev
            .query_string_parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
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
            method: ctx.http.method.to_string(),
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

/// A response, independent of how it leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl ApiResponse {
    /// A JSON response of any serializable body.
    pub fn json(status: u16, v: &impl Serialize) -> Self {
        ApiResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            // Serializing plain data structs to a String cannot fail.
            body: serde_json::to_string(v).unwrap_or_else(|_| "null".into()),
        }
    }

    /// `{"error": {"code", "message"}}`: the one error shape of every route.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::error_with(status, code, message, Map::new(), vec![])
    }

    fn error_with(
        status: u16,
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

    pub fn text(status: u16, s: &str) -> Self {
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
        r.status_code = i64::from(self.status);
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

/// Every way a request can be refused. Handlers return `Err` only with one of these.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// A 403 with a code of its own: the caller's role is enough, but what it
    /// names is not theirs to use.
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    #[error("{0}")]
    NotFound(String),
    /// A 404 with a code of its own, for a thing that is not a contact.
    #[error("{message}")]
    Missing { code: ErrorCode, message: String },
    #[error("{0}")]
    TooLarge(String),
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// `If-Match` named a version that is no longer the current one.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{message}")]
    Unprocessable {
        code: ErrorCode,
        message: String,
        details: Value,
    },
    #[error("{message}")]
    TooManyRequests {
        code: ErrorCode,
        message: String,
        retry_after_seconds: i64,
        details: Map<String, Value>,
    },
    #[error("{message}")]
    BadGateway {
        code: ErrorCode,
        message: String,
        details: Map<String, Value>,
    },
    #[error("{message}")]
    GatewayTimeout { code: ErrorCode, message: String },
    #[error("{0}")]
    Unavailable(String),
    /// DynamoDB throttled us past the retries: try again after a while.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after_seconds: i64,
    },
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) | ApiError::Refused { .. } => 403,
            ApiError::NotFound(_) | ApiError::Missing { .. } => 404,
            ApiError::TooLarge(_) => 413,
            ApiError::Conflict { .. } => 409,
            ApiError::PreconditionFailed(_) => 412,
            ApiError::Unprocessable { .. } => 422,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::BadGateway { .. } => 502,
            ApiError::Unavailable(_) | ApiError::Busy { .. } => 503,
            ApiError::GatewayTimeout { .. } => 504,
        }
    }

    /// The error's code as the JSON body carries it.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The error's code.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Refused { code, .. }
            | ApiError::Missing { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::TooManyRequests { code, .. }
            | ApiError::BadGateway { code, .. }
            | ApiError::GatewayTimeout { code, .. } => *code,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::TooLarge(_) => ErrorCode::PayloadTooLarge,
            ApiError::PreconditionFailed(_) => ErrorCode::PreconditionFailed,
            ApiError::Unavailable(_) | ApiError::Busy { .. } => ErrorCode::ServiceUnavailable,
        }
    }

    /// `{"error": {"code", "message", ...details}}` with the fitting status,
    /// the message in English.
    pub fn to_response(&self) -> ApiResponse {
        self.to_response_in(Lang::EnUs)
    }

    /// The answer with its message in `lang` (the code stays the same).
    pub fn to_response_in(&self, lang: Lang) -> ApiResponse {
        let (details, headers) = match self {
            ApiError::Unprocessable {
                details: Value::Object(d),
                ..
            } => (d.clone(), vec![]),
            ApiError::TooManyRequests {
                retry_after_seconds,
                details,
                ..
            } => (
                details.clone(),
                vec![("retry-after".into(), retry_after_seconds.to_string())],
            ),
            ApiError::BadGateway { details, .. } => (details.clone(), vec![]),
            ApiError::Busy {
                retry_after_seconds,
                ..
            } => (
                Map::new(),
                vec![("retry-after".into(), retry_after_seconds.to_string())],
            ),
            _ => (Map::new(), vec![]),
        };
        let mut details = details;
        crate::i18n::localize_details(&mut details, lang);
        let message = crate::i18n::localize(self.error_code(), &self.to_string(), &details, lang);
        ApiResponse::error_with(self.status(), self.code(), &message, details, headers)
    }

    /// A 403 for a business account the platform operator did not grant to the caller's tenant.
    pub fn not_granted(waba: &str) -> Self {
        ApiError::Refused {
            code: ErrorCode::BusinessAccountNotGranted,
            message: format!(
                "WhatsApp Business Account {waba} is not granted to your business; ask the platform operator to grant it."
            ),
        }
    }

    /// A 400 for an identifier that cannot be used (`#`, empty, too long).
    pub fn bad_ident(code: ErrorCode, e: IdentError) -> Self {
        ApiError::BadRequest {
            code,
            message: format!("{e}."),
        }
    }
}

/// The one mapping of storage failures to answers: a cursor that is not ours
/// is the client's mistake, a number of another tenant a conflict, anything
/// else a 503 (logged, never shown).
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => ApiError::BadRequest {
                code: ErrorCode::InvalidCursor,
                message: e.to_string(),
            },
            StoreError::ChannelTaken(n) => ApiError::Conflict {
                code: ErrorCode::ChannelTaken,
                message: format!("Phone number {n} is already bound to another tenant."),
            },
            StoreError::AccountTaken(w) => ApiError::Conflict {
                code: ErrorCode::BusinessAccountTaken,
                message: format!("WhatsApp Business Account {w} belongs to another tenant."),
            },
            StoreError::NotGranted(w) => ApiError::not_granted(&w),
            StoreError::Stale(_) => ApiError::PreconditionFailed(
                "Someone else changed this since you read it; reload and try again.".into(),
            ),
            other if other.dynamo_kind() == Some(DynamoFailure::Throttled) => {
                tracing::warn!(error = %other, "storage throttled past the retries");
                ApiError::Busy {
                    message: "The service is busy; try again in a few seconds.".into(),
                    retry_after_seconds: 2,
                }
            }
            other => {
                tracing::error!(error = %other, kind = ?other.dynamo_kind(), "storage failure");
                ApiError::Unavailable(
                    "The service could not reach its storage; try again shortly.".into(),
                )
            }
        }
    }
}

pub mod language;

/// Turns a handler's result into the response, errors mapped in this one
/// place, their message in the request's language (see [`crate::i18n`]).
pub async fn respond(
    store: &crate::store::Store,
    req: &ApiRequest,
    result: Result<ApiResponse, ApiError>,
) -> ApiResponse {
    match result {
        Ok(r) => r,
        Err(e) => e.to_response_in(language::language_of(store, req).await),
    }
}

/// The roles, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

/// Who is calling, from the verified JWT claims only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    pub agent: String,
    pub role: Role,
}

impl Caller {
    pub fn from_claims(claims: &HashMap<String, String>) -> Result<Caller, ApiError> {
        let clean = |v: Option<&String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let agent = clean(claims.get("sub"))
            .ok_or_else(|| ApiError::Unauthorized("The token has no subject (sub).".into()))?;
        // Cognito's claims only: the local stack's `tenant_id` / `role`
        // shorthands are mapped by its own gateway, never accepted here.
        let tenant = clean(claims.get("custom:tenant_id")).ok_or_else(|| {
            ApiError::Unauthorized("The token names no tenant (custom:tenant_id).".into())
        })?;
        let groups = clean(claims.get("cognito:groups")).unwrap_or_default();
        let role = parse_roles(&groups).ok_or_else(|| {
            ApiError::Forbidden(
                "The token's groups name no role of this service (agent, supervisor or admin)."
                    .into(),
            )
        })?;
        let unusable =
            |e: IdentError| ApiError::Unauthorized(format!("The token's {e}; it cannot be used."));
        Ok(Caller {
            tenant: Ident::parse("tenant", &tenant)
                .map_err(unusable)?
                .into_string(),
            agent: Ident::parse("subject", &agent)
                .map_err(unusable)?
                .into_string(),
            role,
        })
    }

    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "This needs the {} role.",
                role_name(role)
            )))
        }
    }

    /// Whether the caller may act on records of `agent`.
    pub fn may_act_for(&self, agent: &str) -> bool {
        self.role >= Role::Supervisor || self.agent == agent
    }
}

pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Agent => "agent",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

/// The strongest role among the groups of a `cognito:groups` claim, by exact
/// name (`agent`, `supervisor`, `admin`, case-sensitive). API Gateway hands
/// an array over as `[agent admin]` (split on whitespace only); a JSON array
/// `["agent","admin"]` works too. `Admins`, `ADMIN` or `sales,admin` are no role.
fn parse_roles(claim: &str) -> Option<Role> {
    let claim = claim.trim();
    let groups: Vec<String> = match serde_json::from_str::<Vec<String>>(claim) {
        Ok(list) => list,
        Err(_) => {
            let inner = claim
                .strip_prefix('[')
                .and_then(|c| c.strip_suffix(']'))
                .unwrap_or(claim);
            inner.split_whitespace().map(String::from).collect()
        }
    };
    groups
        .iter()
        .filter_map(|g| match g.as_str() {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        })
        .max()
}

#[cfg(test)]
mod tests;
