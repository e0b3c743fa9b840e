//! The HTTP edge shared by every API function, by job: the request
//! ([`request`]), the response ([`response`]), the one error type and its
//! mapping ([`error`]), the caller and roles ([`auth`]), and the answer's
//! language ([`language`]).

mod auth;
mod error;
pub mod language;
mod request;
mod response;

pub use crate::error_code::ErrorCode;
pub use auth::{role_name, Caller, Role};
pub use error::ApiError;
pub use request::{header_pairs, ApiRequest, MAX_DESK_BODY_BYTES, MAX_PATH_ID_CHARS};
pub use response::ApiResponse;

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

#[cfg(test)]
mod tests;
