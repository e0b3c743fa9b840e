//! Building the local stack from the environment: the table, the bus, the demo
//! tenant, the gateway and the sandbox.

use std::sync::Arc;

use afterhours_adapters::config::{Config, ConfigError};
use afterhours_adapters::store::Store;
use afterhours_adapters::table::ensure_table;
use tokio::net::TcpListener;

use crate::gateway::Gateway;
use crate::sandbox::Sandbox;

pub use crate::demo::{
    demo_templates, seed_demo, DEMO_AGENT, DEMO_PHONE_NUMBER_ID, DEMO_TENANT, DEMO_WABA_ID,
};

/// Creates the bus unless it exists.
pub async fn ensure_bus(client: &aws_sdk_eventbridge::Client, name: &str) -> anyhow::Result<()> {
    if name == "default" || client.describe_event_bus().name(name).send().await.is_ok() {
        return Ok(());
    }
    match client.create_event_bus().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = aws_sdk_eventbridge::error::DisplayErrorContext(&e).to_string();
            if text.contains("ResourceAlreadyExists") {
                Ok(())
            } else {
                Err(anyhow::anyhow!(text))
            }
        }
    }
}

/// Table and bus, from the same configuration the functions read.
pub async fn bootstrap() -> Result<Store, ConfigError> {
    let cfg = Config::from_env()?;
    let (dynamo, eb) = afterhours_adapters::config::aws_clients(&cfg).await?;
    ensure_table(&dynamo, &cfg.table)
        .await
        .map_err(|e| ConfigError(format!("creating table {}: {e}", cfg.table)))?;
    ensure_bus(&eb, &cfg.event_bus)
        .await
        .map_err(|e| ConfigError(format!("creating bus {}: {e}", cfg.event_bus)))?;
    Ok(Store::new(dynamo, cfg.table))
}

/// The gateway with every function's dependencies built from the environment.
pub async fn gateway_from_env() -> Result<Gateway, ConfigError> {
    Ok(Gateway::new(
        webhook::Deps::from_env().await?,
        contacts::Deps::from_env().await?,
        send::Deps::from_env().await?,
        settings::Deps::from_env().await?,
        report::Deps::from_env().await?,
        crate::jwt::Authorizer::from_env()?,
    ))
}

/// Serves the gateway on a bound listener (in a task).
pub fn spawn_gateway(listener: TcpListener, gateway: Arc<Gateway>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(crate::server::serve(
        listener,
        crate::gateway::MAX_BODY_BYTES,
        move |req| {
            let g = gateway.clone();
            async move { g.handle(req).await }
        },
    ))
}

/// Serves the sandbox on a bound listener (in a task).
pub fn spawn_sandbox(listener: TcpListener, sandbox: Arc<Sandbox>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(crate::server::serve(
        listener,
        crate::gateway::MAX_BODY_BYTES,
        move |req| {
            let s = sandbox.clone();
            async move { s.handle(req).await }
        },
    ))
}
