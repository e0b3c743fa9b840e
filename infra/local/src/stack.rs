//! Building the local stack from the environment: the table, the bus, the demo
//! tenant, the gateway and the sandbox.

use std::sync::Arc;

use afterhours_adapters::config::{Config, ConfigError};
use afterhours_adapters::model::Channel;
use afterhours_adapters::store::Store;
use afterhours_adapters::table::ensure_table;
use afterhours_rules::settings::Settings;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::gateway::Gateway;
use crate::sandbox::Sandbox;

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_PHONE_NUMBER_ID: &str = "100000000000001";
pub const DEMO_AGENT: &str = "agent-1";
/// The demo channel's WhatsApp Business Account (the sandbox lists its number).
pub const DEMO_WABA_ID: &str = "200000000000001";

/// Creates the bus unless it exists.
pub async fn ensure_bus(client: &aws_sdk_eventbridge::Client, name: &str) -> Result<(), String> {
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
                Err(text)
            }
        }
    }
}

/// The demo tenant's templates: two approved, one pending.
pub fn demo_templates() -> Value {
    json!({"data": [
        {"name": "callback_after_hours", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY", "id": "900001",
         "components": [{"type": "BODY", "text": "Olá {{1}}, aqui é {{2}}. Vimos sua mensagem fora do horário de atendimento. Como podemos ajudar?",
                         "example": {"body_text": [["Maria", "Ana"]]}}]},
        {"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "900002",
         "parameter_format": "NAMED",
         "components": [{"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}"},
                        {"type": "BODY", "text": "Hi {{customer_name}}, you wrote to us after hours. Your order {{order_id}} is ready."},
                        {"type": "FOOTER", "text": "afterhours demo"}]},
        {"name": "promo_black_friday", "language": "pt_BR", "status": "PENDING", "category": "MARKETING", "id": "900003",
         "components": [{"type": "BODY", "text": "Oferta para {{1}}!"}]}
    ]})
}

/// Seeds the demo tenant (idempotent).
pub async fn seed_demo(store: &Store) -> Result<(), String> {
    // The operator's grant, as `afterhours-admin account grant` writes it.
    store
        .grant_account(DEMO_TENANT, DEMO_WABA_ID)
        .await
        .map_err(|e| e.to_string())?;
    store
        .put_channel(&Channel {
            phone_number_id: DEMO_PHONE_NUMBER_ID.into(),
            tenant_id: DEMO_TENANT.into(),
            waba_id: DEMO_WABA_ID.into(),
            display_phone_number: "+1 555 000 0001".into(),
            default_agent_id: DEMO_AGENT.into(),
        })
        .await
        .map_err(|e| e.to_string())?;
    // The demo turns the cap on, so the quickstart shows the 429.
    let mut settings = serde_json::to_value(Settings::default()).unwrap_or_default();
    settings["activeMessageLimit"]["enabled"] = serde_json::json!(true);
    store
        .put_settings(DEMO_TENANT, &settings)
        .await
        .map_err(|e| e.to_string())?;
    store
        .put_templates(DEMO_TENANT, &demo_templates())
        .await
        .map_err(|e| e.to_string())
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
