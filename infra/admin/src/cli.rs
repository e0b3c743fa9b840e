//! The command line, with clap.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "afterhours-admin",
    version,
    about = "Onboard businesses onto afterhours: tenants, their users, and the WhatsApp Business Accounts they may bind."
)]
pub struct Cli {
    /// Print what was done as JSON (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// The DynamoDB table (the stack's TableName output).
    #[arg(long, env = "TABLE_NAME", global = true)]
    pub table: Option<String>,
    /// The Cognito user pool (the stack's UserPoolId output).
    #[arg(long, env = "USER_POOL_ID", global = true)]
    pub user_pool_id: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or list tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Invite people into a tenant.
    #[command(subcommand)]
    User(UserCmd),
    /// Grant or revoke the WhatsApp Business Accounts a tenant may bind.
    #[command(subcommand)]
    Account(AccountCmd),
    /// A tenant's accounts and bound numbers.
    #[command(subcommand)]
    Channel(ChannelCmd),
    /// Write the desk's config.json and upload list from the stack's outputs (used by `make deploy`).
    DeskConfig(DeskConfigArgs),
    /// Create (or find) a user pool shaped like the template's, for `make run` (moto); not for AWS.
    LocalPool {
        #[arg(default_value = "afterhours-local")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// A tenant's default settings and its first admin.
    Create(CreateTenant),
    /// Every tenant, with its granted accounts.
    List,
}

#[derive(Debug, Args)]
pub struct CreateTenant {
    pub tenant: String,
    /// The first admin's email: Cognito sends them a temporary password.
    #[arg(long)]
    pub admin_email: String,
    /// pt_BR, en_US or es_ES.
    #[arg(long, default_value = "pt_BR")]
    pub language: String,
    /// An IANA time zone, e.g. America/Sao_Paulo.
    #[arg(long, default_value = "America/Sao_Paulo")]
    pub timezone: String,
    /// The admin's name, shown on the desk.
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user of the tenant with one role; Cognito emails them.
    Invite(Invite),
}

#[derive(Debug, Args)]
pub struct Invite {
    pub tenant: String,
    pub email: String,
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// The person's name, shown on the desk.
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Agent,
    Supervisor,
    Admin,
}

impl RoleArg {
    /// The Cognito group of the role.
    pub fn group(self) -> &'static str {
        match self {
            RoleArg::Agent => "agent",
            RoleArg::Supervisor => "supervisor",
            RoleArg::Admin => "admin",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AccountCmd {
    /// Let the tenant bind the account's numbers.
    Grant(AccountArgs),
    /// Take the account back: its numbers of this tenant are unbound.
    Revoke(AccountArgs),
}

#[derive(Debug, Args)]
pub struct AccountArgs {
    pub tenant: String,
    /// The WhatsApp Business Account id (digits).
    pub waba_id: String,
}

#[derive(Debug, Subcommand)]
pub enum ChannelCmd {
    /// The tenant's granted accounts and bound numbers.
    List { tenant: String },
}

#[derive(Debug, Args)]
pub struct DeskConfigArgs {
    /// The stack's outputs as `aws cloudformation describe-stacks` prints
    /// them (`[{"OutputKey": ..., "OutputValue": ...}]`).
    #[arg(long)]
    pub outputs: std::path::PathBuf,
    /// The desk's folder.
    #[arg(long, default_value = "desk")]
    pub desk: std::path::PathBuf,
    /// Where to write config.json.
    #[arg(long)]
    pub config_out: std::path::PathBuf,
}
