//! `afterhours-admin`: see the library for what each command does.

use afterhours_adapters::store::Store;
use afterhours_adapters::tls;
use afterhours_admin::{deploy, Admin, AdminError, Cli, Command, Directory, Done};
use clap::Parser;

/// The standard AWS configuration (profile, credentials, region,
/// `AWS_ENDPOINT_URL_*`) on the project's one TLS stack. Unlike the
/// functions' `config::aws_config`, the region may come from the operator's
/// profile, so the default chain is loaded rather than a fixed region.
async fn aws() -> Result<aws_config::SdkConfig, AdminError> {
    tls::install_provider();
    let http = tls::aws_https_client(None).map_err(AdminError::Failed)?;
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await;
    if shared.region().is_none() {
        return Err(AdminError::Invalid(
            "No AWS region: set AWS_REGION or a region in your AWS profile.".into(),
        ));
    }
    Ok(shared)
}

async fn run(cli: &Cli) -> Result<Done, AdminError> {
    match &cli.command {
        Command::DeskConfig(a) => {
            let lines = deploy::prepare(&a.outputs, &a.desk, &a.config_out)?;
            Ok(Done {
                json: serde_json::json!({"config": a.config_out, "uploads": lines.lines().count()}),
                text: lines,
            })
        }
        Command::LocalPool { name } => {
            let shared = aws().await?;
            let client = aws_sdk_cognitoidentityprovider::Client::new(&shared);
            let d = Directory::ensure_local_pool(client, name).await?;
            Ok(Done {
                text: d.pool.clone(),
                json: serde_json::json!({"userPoolId": d.pool}),
            })
        }
        command => {
            let table = cli
                .table
                .clone()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    AdminError::Invalid(
                        "No table: pass --table or set TABLE_NAME (the stack's TableName output)."
                            .into(),
                    )
                })?;
            let shared = aws().await?;
            let directory = cli
                .user_pool_id
                .clone()
                .filter(|p| !p.trim().is_empty())
                .map(|pool| Directory {
                    client: aws_sdk_cognitoidentityprovider::Client::new(&shared),
                    pool,
                });
            let admin = Admin {
                store: Store::new(aws_sdk_dynamodb::Client::new(&shared), table),
                directory,
            };
            admin.run(command).await
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    match run(&cli).await {
        Ok(done) if cli.json => println!("{}", done.json),
        Ok(done) => println!("{}", done.text),
        Err(e) => {
            if cli.json {
                println!("{}", serde_json::json!({"error": e.to_string()}));
            }
            eprintln!("afterhours-admin: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
