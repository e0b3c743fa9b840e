//! `afterhours-admin`: the platform operator's tool. It onboards businesses
//! (a tenant's settings and its first admin in Cognito), invites users, and
//! grants the WhatsApp Business Accounts a tenant may bind. It uses the
//! standard AWS configuration (credentials, region, `AWS_ENDPOINT_URL_*`), so
//! the same binary works against AWS and against `make run`'s DynamoDB Local
//! and moto.

pub mod cli;
pub mod deploy;
pub mod directory;
mod tenants;

use afterhours_adapters::store::Store;
use serde_json::Value;

pub use cli::{Cli, Command};
pub use directory::Directory;

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

/// What the commands act on: the table and, for users, the user pool.
pub struct Admin {
    pub store: Store,
    pub directory: Option<Directory>,
}

impl Admin {
    fn directory(&self) -> Result<&Directory, AdminError> {
        self.directory.as_ref().ok_or_else(|| {
            AdminError::Invalid(
                "No user pool: pass --user-pool-id or set USER_POOL_ID (the stack's UserPoolId output)."
                    .into(),
            )
        })
    }

    /// Runs one command (all but `desk-config` and `local-pool`, which need no table).
    pub async fn run(&self, command: &Command) -> Result<Done, AdminError> {
        use cli::{AccountCmd, ChannelCmd, TenantCmd, UserCmd};
        match command {
            Command::Tenant(TenantCmd::Create(a)) => tenants::create(self, a).await,
            Command::Tenant(TenantCmd::List) => tenants::list(self).await,
            Command::User(UserCmd::Invite(a)) => tenants::invite(self, a).await,
            Command::Account(AccountCmd::Grant(a)) => tenants::grant(self, a).await,
            Command::Account(AccountCmd::Revoke(a)) => tenants::revoke(self, a).await,
            Command::Channel(ChannelCmd::List { tenant }) => tenants::channels(self, tenant).await,
            Command::DeskConfig(_) | Command::LocalPool { .. } => Err(AdminError::Invalid(
                "This command does not act on a tenant.".into(),
            )),
        }
    }
}
