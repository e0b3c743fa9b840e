//! `afterhours-admin`: the platform operator's tool. It onboards businesses
//! (a tenant's settings and its first admin in Cognito), invites users, and
//! grants the WhatsApp Business Accounts a tenant may bind. It uses the
//! standard AWS configuration (credentials, region, `AWS_ENDPOINT_URL_*`), so
//! the same binary works against AWS and against `make run`'s DynamoDB Local
//! and moto.

pub mod cli;
mod context;
pub mod deploy;
pub mod directory;
mod outcome;
mod tenants;

pub use cli::{Cli, Command};
pub use context::Admin;
pub use directory::Directory;
pub use outcome::{AdminError, Done};

impl Admin {
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
