//! The rules of afterhours, with no I/O and no AWS or Lambda types: business
//! hours, the rolling-24h cap, WhatsApp templates and webhook payloads, the
//! next-hours prompt, and how records are displayed. Time is always passed in.

pub mod callback;
pub mod cap;
pub mod display;
pub mod hours;
pub mod ids;
pub mod media;
pub mod prompt;
pub mod settings;
pub mod templates;
pub mod webhook;

use serde::Serialize;

/// One refused field of a request, named the way the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// One refused template variable: which, why (a stable code the desk and the
/// languages key on), and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariableError {
    pub variable: String,
    pub problem: &'static str,
    pub message: String,
}

/// How long a record of an outside-hours contact lives.
pub const RETENTION_DAYS: i64 = 7;
