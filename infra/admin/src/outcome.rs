//! What a command ends with: its facts ([`Done`]), or one sentence for the
//! operator and an exit code ([`AdminError`]).

use serde_json::Value;

/// What went wrong, as one sentence for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The command's input is not usable (exit code 2).
    #[error("{0}")]
    Invalid(String),
    /// The input is fine but the current state refuses it (exit code 1).
    #[error("{0}")]
    Refused(String),
    /// AWS (or the local stand-ins) failed (exit code 1).
    #[error("{0}")]
    Failed(String),
}

impl AdminError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AdminError::Invalid(_) => 2,
            AdminError::Refused(_) | AdminError::Failed(_) => 1,
        }
    }
}

impl From<afterhours_adapters::store::StoreError> for AdminError {
    fn from(e: afterhours_adapters::store::StoreError) -> Self {
        let text = e.to_string();
        if text.contains("ResourceNotFoundException") {
            return AdminError::Failed(
                "The table does not exist: check --table / TABLE_NAME (the stack's TableName output), and that the stack is deployed or `make run` is up."
                    .into(),
            );
        }
        if text.contains("dispatch failure") {
            return AdminError::Failed(
                "DynamoDB could not be reached: check the region, your network and AWS_ENDPOINT_URL_DYNAMODB."
                    .into(),
            );
        }
        // The SDK's debug form follows the first " (": the sentence is enough.
        AdminError::Failed(format!(
            "DynamoDB: {}",
            text.split(" (").next().unwrap_or(&text)
        ))
    }
}

/// What a command did: a sentence (or a few lines) for people, and the same
/// facts as JSON for scripts (`--json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub text: String,
    pub json: Value,
}
