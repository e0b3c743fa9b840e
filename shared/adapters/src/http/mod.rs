//! The HTTP edge shared by every API function, by job: the request
//! ([`request`]), the response ([`response`]), the one error type and its
//! mapping ([`error`]), and the caller and roles ([`auth`]). The answer's
//! language is decided once per request, by [`crate::desk::DeskRequest`].

mod auth;
mod error;
mod request;
mod response;

pub use crate::error_code::ErrorCode;
pub use auth::{role_name, Caller, Role};
pub use aws_lambda_events::http::{Method, StatusCode};
pub use error::ApiError;
pub use request::{header_pairs, ApiRequest, MAX_DESK_BODY_BYTES, MAX_PATH_ID_CHARS};
pub use response::ApiResponse;

#[cfg(test)]
mod tests;
