//! The demo tenant `make run` seeds: its channel (its account granted, as
//! the operator would), settings with the cap on, and templates.

use afterhours_adapters::model::Channel;
use afterhours_adapters::store::Store;
use afterhours_rules::settings::Settings;
use serde_json::{json, Value};

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_PHONE_NUMBER_ID: &str = "100000000000001";
pub const DEMO_AGENT: &str = "agent-1";
/// The demo channel's WhatsApp Business Account (the sandbox lists its number).
pub const DEMO_WABA_ID: &str = "200000000000001";

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
pub async fn seed_demo(store: &Store) -> anyhow::Result<()> {
    // The operator's grant, as `afterhours-admin account grant` writes it.
    store.grant_account(DEMO_TENANT, DEMO_WABA_ID).await?;
    store
        .put_channel(&Channel {
            phone_number_id: DEMO_PHONE_NUMBER_ID.into(),
            tenant_id: DEMO_TENANT.into(),
            waba_id: DEMO_WABA_ID.into(),
            display_phone_number: "+1 555 000 0001".into(),
            default_agent_id: DEMO_AGENT.into(),
        })
        .await?;
    // The demo turns the cap on, so the quickstart shows the 429.
    let mut settings = serde_json::to_value(Settings::default()).unwrap_or_default();
    settings["activeMessageLimit"]["enabled"] = serde_json::json!(true);
    store.put_settings(DEMO_TENANT, &settings).await?;
    store
        .put_templates(DEMO_TENANT, &demo_templates())
        .await
        .map_err(Into::into)
}
