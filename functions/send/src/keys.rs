//! `Idempotency-Key`: the key's first final answer (200, 502, 504)
//! is stored and replayed to every retry with the same body, marked
//! `Idempotency-Replay: true`; refusals decided before the Graph call are not
//! stored; a key held by a request still running answers 409 until its hold,
//! as long as the function may run, expires.

use afterhours_adapters::error_code::ErrorCode;
use afterhours_adapters::http::{ApiError, ApiRequest, ApiResponse, Caller, StatusCode};
use afterhours_adapters::model::SendTarget;
use afterhours_adapters::store::{IdempotencyClaim, Store};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;
/// How long a request holds its key: longer than the send function may run
/// (`Timeout: 15` in `template.yaml`, checked by a test), so a request that
/// crashed frees its key soon after instead of blocking it for a day.
pub const IDEMPOTENCY_HOLD_SECONDS: i64 = 20;
/// The header that marks a replayed answer.
pub const REPLAY_HEADER: &str = "idempotency-replay";

/// What an `Idempotency-Key` lets this request do.
pub enum KeyClaim {
    /// Go ahead; the key's item (if a key was given) is held for this request.
    Proceed(Option<String>),
    /// The key already has a final answer: replay it.
    Replay(ApiResponse),
}

/// What an `Idempotency-Key` is bound to, besides the body.
fn binding(target: &SendTarget) -> String {
    match target {
        SendTarget::Record(k) => k.id(),
        SendTarget::Direct { channel, customer } => format!("direct\n{channel}\n{customer}"),
    }
}

/// Claims the request's `Idempotency-Key`, if it has one. The key is bound to
/// the target (the record, or the channel and customer) and the body, so the
/// same key with another request is refused.
pub async fn claim_key(
    store: &Store,
    now: DateTime<Utc>,
    req: &ApiRequest,
    caller: &Caller,
    target: &SendTarget,
    body: &Value,
) -> Result<KeyClaim, ApiError> {
    let Some(k) = req
        .header("idempotency-key")
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        return Ok(KeyClaim::Proceed(None));
    };
    if k.len() > MAX_IDEMPOTENCY_KEY {
        return Err(ApiError::BadRequest {
            code: ErrorCode::InvalidIdempotencyKey,
            message: format!("Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters."),
        });
    }
    let pk = afterhours_adapters::store::keys::idempotency_pk(&caller.tenant, &caller.agent, k);
    let hash = hex::encode(Sha256::digest(
        format!("{}\n{}", binding(target), body).as_bytes(),
    ));
    let hold = Duration::seconds(IDEMPOTENCY_HOLD_SECONDS);
    match store.claim_idempotency(&pk, &hash, now, hold).await? {
        IdempotencyClaim::Claimed => Ok(KeyClaim::Proceed(Some(pk))),
        IdempotencyClaim::Done { status, body } => {
            let stored: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            // Only answers this function gave are stored: their status is one.
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut r = ApiResponse::json(status, &stored);
            r.headers.push((REPLAY_HEADER.into(), "true".into()));
            Ok(KeyClaim::Replay(r))
        }
        IdempotencyClaim::InProgress => Err(ApiError::Conflict {
            code: ErrorCode::IdempotencyInProgress,
            message: "A request with this Idempotency-Key is still being processed; retry shortly."
                .into(),
        }),
        IdempotencyClaim::Mismatch => Err(ApiError::Conflict {
            code: ErrorCode::IdempotencyKeyReused,
            message: "This Idempotency-Key was already used with a different request.".into(),
        }),
    }
}
