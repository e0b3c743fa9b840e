//! `GET /webhook` (Meta's verification handshake) and `POST /webhook` (messages
//! and statuses): outside-hours contacts recorded, the next-hours prompt sent
//! once per closed period, the customer's answer and delivery states stored.

mod messages;
pub mod rejections;
mod statuses;

use std::sync::Arc;
use std::time::Duration;

use afterhours_adapters::boot::ColdStart;
use afterhours_adapters::config::{secret, ConfigError};
use afterhours_adapters::graph::GraphClient;
use afterhours_adapters::http::{ApiRequest, ApiResponse};
use afterhours_adapters::lambda::{system_clock, Clock};
use afterhours_adapters::model::Channel;
use afterhours_adapters::store::{Store, StoreError};
use afterhours_adapters::tenant::{RulesCache, TtlCache};
use afterhours_rules::settings::TenantRules;
use afterhours_rules::webhook;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How long a channel stays cached in one instance.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// How many prompts of one POST are in flight at once (Meta batches
/// messages under load; each Graph call can take hundreds of ms).
pub const PROMPT_CONCURRENCY: usize = 10;

pub struct Deps {
    pub store: Store,
    pub graph: GraphClient,
    pub app_secret: Vec<u8>,
    pub verify_token: String,
    pub clock: Clock,
    channels: TtlCache<String, Option<Channel>>,
    tenants: RulesCache,
    rejections: rejections::Rejections,
}

impl Deps {
    pub fn new(
        store: Store,
        graph: GraphClient,
        app_secret: &str,
        verify_token: &str,
        clock: Clock,
    ) -> Self {
        Deps {
            store,
            graph,
            app_secret: app_secret.as_bytes().to_vec(),
            verify_token: verify_token.to_string(),
            clock,
            channels: TtlCache::new(CACHE_TTL, 10_000),
            tenants: RulesCache::default(),
            rejections: rejections::Rejections::default(),
        }
    }

    /// Everything from the environment, clients built once.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let (boot, graph) = ColdStart::load_with_graph().await?;
        let mut deps = Deps::new(
            boot.store,
            graph,
            &secret("APP_SECRET").await?,
            &secret("VERIFY_TOKEN").await?,
            system_clock(),
        );
        deps.tenants = RulesCache::new(boot.cfg.rules_cache);
        Ok(deps)
    }

    async fn channel(&self, pnid: &str) -> Result<Option<Channel>, StoreError> {
        if let Some(c) = self.channels.get(&pnid.to_string()) {
            return Ok(c);
        }
        let c = self.store.get_channel(pnid).await?;
        // Only bound numbers are cached, so binding a new number takes effect at once.
        if c.is_some() {
            self.channels.put(pnid.to_string(), c.clone());
        }
        Ok(c)
    }

    /// Drops a cached binding found stale, so the next change reads it again.
    fn forget_channel(&self, pnid: &str) {
        self.channels.remove(&pnid.to_string());
    }

    async fn rules(&self, tenant: &str) -> Result<Arc<TenantRules>, StoreError> {
        self.tenants.get(&self.store, tenant).await
    }
}

/// The one entry point, for Lambda and the local gateway alike.
pub async fn handle(deps: &Deps, req: ApiRequest) -> ApiResponse {
    match req.method.as_str() {
        "GET" => verify(deps, &req),
        "POST" => receive(deps, &req).await,
        _ => error(405, "method_not_allowed", "Use GET or POST on /webhook."),
    }
}

fn error(status: u16, code: &str, message: &str) -> ApiResponse {
    ApiResponse::error(status, code, message)
}

/// Meta's subscription handshake: echo `hub.challenge` when the token matches.
fn verify(deps: &Deps, req: &ApiRequest) -> ApiResponse {
    let q = |k: &str| req.query.get(k).map(String::as_str).unwrap_or("");
    let token_ok: bool = q("hub.verify_token")
        .as_bytes()
        .ct_eq(deps.verify_token.as_bytes())
        .into();
    if q("hub.mode") == "subscribe" && token_ok && !deps.verify_token.is_empty() {
        ApiResponse::text(200, q("hub.challenge"))
    } else {
        error(403, "forbidden", "The verification token does not match.")
    }
}

/// Whether `X-Hub-Signature-256` is the HMAC-SHA256 of the raw body with the app secret (constant time).
pub fn signature_ok(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

async fn receive(deps: &Deps, req: &ApiRequest) -> ApiResponse {
    let signed = signature_ok(
        &deps.app_secret,
        &req.body,
        req.header("x-hub-signature-256"),
    );
    let now = (deps.clock)();
    let due = if signed {
        deps.rejections.tick(now)
    } else {
        deps.rejections.refused(now)
    };
    if let Some(count) = due {
        rejections::write(count);
    }
    if !signed {
        return error(
            401,
            "invalid_signature",
            "X-Hub-Signature-256 is missing or does not match the body.",
        );
    }
    let payload = match webhook::parse(&req.body) {
        Ok(p) => p,
        Err(e) => return error(400, "invalid_payload", &e.to_string()),
    };
    for why in &payload.skipped {
        tracing::warn!(reason = %why, "webhook item skipped");
    }
    let mut stats = Stats::default();
    stats.skip("unparsable", payload.skipped.len());
    for change in &payload.changes {
        if let Err(e) = process_change(deps, change, &mut stats).await {
            tracing::error!(error = %e, "webhook storage failure; Meta will retry");
            return error(
                500,
                "storage_failure",
                "The webhook could not be stored; it will be retried.",
            );
        }
    }
    tracing::info!(?stats, "webhook processed");
    stats.emit();
    ApiResponse::json(200, &json!({"received": true}))
}

/// What one POST did, for the log line and the metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub recorded: usize,
    pub duplicates: usize,
    pub inside_hours: usize,
    /// Items not stored, by why (`unparsable`, `unknown_channel`, `no_customer`,
    /// `system`, `too_old`, `future`, `poison`).
    pub skipped: std::collections::BTreeMap<&'static str, usize>,
    pub prompts: usize,
    pub prompts_failed: usize,
    pub answered_yes: usize,
    pub answered_no: usize,
    /// Taps quoting a prompt that went to another customer (changed nothing).
    pub foreign_taps: usize,
    pub statuses: usize,
}

impl Stats {
    pub fn skip(&mut self, why: &'static str, n: usize) {
        *self.skipped.entry(why).or_default() += n;
    }

    /// The POST's metrics as Embedded Metric Format lines.
    pub fn emit(&self) {
        let mut c = afterhours_adapters::metrics::Counts::new();
        c.add("ContactsRecorded", self.recorded)
            .add("DuplicateDeliveries", self.duplicates)
            .add("PromptsSent", self.prompts)
            .add("PromptsFailed", self.prompts_failed)
            .add("CallbacksAnsweredYes", self.answered_yes)
            .add("CallbacksAnsweredNo", self.answered_no)
            .add("ForeignTaps", self.foreign_taps)
            .add("StatusesApplied", self.statuses);
        c.emit();
        for (why, n) in &self.skipped {
            afterhours_adapters::metrics::emit_dimensioned(
                "WebhookItemsSkipped",
                "Reason",
                why,
                *n,
            );
        }
    }
}

async fn process_change(
    deps: &Deps,
    change: &webhook::Change,
    stats: &mut Stats,
) -> Result<(), StoreError> {
    let Some(channel) = deps.channel(&change.phone_number_id).await? else {
        tracing::warn!(phone_number_id = %change.phone_number_id, "webhook for an unknown phone number; acknowledged, nothing stored");
        stats.skip(
            "unknown_channel",
            change.messages.len() + change.statuses.len(),
        );
        return Ok(());
    };
    let rules = deps.rules(&channel.tenant_id).await?;
    let mut prompts = Vec::new();
    for m in &change.messages {
        if let Some(p) = messages::process(deps, &channel, &rules, m, stats).await? {
            prompts.push(p);
        }
    }
    let tried = prompts.len();
    let sent = messages::send_prompts(deps, &channel, &rules, prompts).await?;
    stats.prompts += sent;
    stats.prompts_failed += tried - sent;
    for s in &change.statuses {
        statuses::process(deps, &channel, s, stats).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_raw_bytes() {
        let body = br#"{"entry":[]}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_ok(b"s3cret", body, Some(&good)));
        assert!(!signature_ok(b"other", body, Some(&good)));
        assert!(!signature_ok(b"s3cret", br#"{"entry": []}"#, Some(&good)));
        assert!(!signature_ok(b"s3cret", body, None));
        assert!(!signature_ok(b"s3cret", body, Some("sha256=zz")));
        assert!(!signature_ok(
            b"s3cret",
            body,
            Some(&good.replace("sha256=", "sha1="))
        ));
    }
}
