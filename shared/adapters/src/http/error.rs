//! The one error type of the API and its single mapping to a status and a
//! JSON body, with the message in the answer's language.

use afterhours_rules::cap::Refusal;
use afterhours_rules::ids::IdentError;
use serde_json::{json, Map, Value};

use super::response::ApiResponse;
use crate::error_code::ErrorCode;
use crate::graph::GraphError;
use crate::i18n::{meta_sentence, Lang};
use crate::store::{DynamoFailure, StoreError};
use aws_lambda_events::http::StatusCode;

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
    /// The active-message cap is reached: when one more send becomes possible.
    #[error("{}", .0.message())]
    CapReached(Box<Refusal>),
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
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Refused { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::Missing { .. } => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } | ApiError::CapReached(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::GatewayTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
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
            ApiError::CapReached(_) => ErrorCode::ActiveMessageLimitReached,
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
            ApiError::CapReached(refusal) => {
                let view = refusal.view();
                let mut d = Map::new();
                d.insert("availableAt".into(), json!(view.available_at));
                d.insert("retryAfterSeconds".into(), json!(view.retry_after_seconds));
                d.insert("quota".into(), json!(view));
                let wait = view.retry_after_seconds.to_string();
                (d, vec![("retry-after".into(), wait)])
            }
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
        let message = match self {
            ApiError::CapReached(refusal) => crate::i18n::cap_refusal(refusal, lang),
            _ => crate::i18n::localize(self.error_code(), &self.to_string(), &details, lang),
        };
        ApiResponse::error_with(self.status(), self.code(), &message, details, headers)
    }

    /// Meta's refusal → 502 `whatsapp_rejected` with its code and a plain
    /// explanation; no usable answer → 504 `unknown_code`; unreachable → 502.
    /// `timeout` and `unreachable` say what that means for the caller's action.
    pub fn from_graph(
        e: GraphError,
        unknown_code: ErrorCode,
        timeout: &str,
        unreachable: &str,
    ) -> ApiError {
        match e {
            GraphError::Rejected {
                http_status,
                code,
                title,
                details,
            } => {
                let mut d = Map::new();
                d.insert("whatsappCode".into(), json!(code));
                d.insert("whatsappTitle".into(), json!(title));
                d.insert("whatsappDetails".into(), json!(details));
                d.insert("whatsappHttpStatus".into(), json!(http_status));
                ApiError::BadGateway {
                    code: ErrorCode::WhatsappRejected,
                    message: meta_sentence(code, Lang::EnUs).to_string(),
                    details: d,
                }
            }
            GraphError::Unknown(_) => ApiError::GatewayTimeout {
                code: unknown_code,
                message: timeout.to_string(),
            },
            GraphError::NotSent(why) => ApiError::BadGateway {
                code: ErrorCode::WhatsappUnreachable,
                message: unreachable.to_string(),
                details: Map::from_iter([("reason".to_string(), json!(why))]),
            },
        }
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
