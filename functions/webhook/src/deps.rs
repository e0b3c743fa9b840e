//! What the webhook function holds for its whole life (the store, the Graph
//! client, the secrets, the caches) and what one POST did ([`Stats`]).

use std::sync::Arc;
use std::time::Duration;

use afterhours_adapters::boot::ColdStart;
use afterhours_adapters::config::{secret, ConfigError};
use afterhours_adapters::graph::GraphClient;
use afterhours_adapters::lambda::{system_clock, Clock};
use afterhours_adapters::model::Channel;
use afterhours_adapters::store::{Store, StoreError};
use afterhours_adapters::tenant::{RulesCache, TtlCache};
use afterhours_rules::settings::TenantRules;

use crate::rejections::Rejections;

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
    pub(crate) channels: TtlCache<String, Option<Channel>>,
    pub(crate) tenants: RulesCache,
    pub(crate) rejections: Rejections,
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
            rejections: Rejections::default(),
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

    pub(crate) async fn channel(&self, pnid: &str) -> Result<Option<Channel>, StoreError> {
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
    pub(crate) fn forget_channel(&self, pnid: &str) {
        self.channels.remove(&pnid.to_string());
    }

    /// The tenant's rules, and the last moment (epoch seconds) an instance
    /// may have applied the settings these replaced: their saving, plus how
    /// long an instance keeps rules it read.
    pub(crate) async fn rules(&self, tenant: &str) -> Result<(Arc<TenantRules>, i64), StoreError> {
        let (rules, saved_at) = self.tenants.get_saved(&self.store, tenant).await?;
        let kept = i64::try_from(self.tenants.ttl().as_secs()).unwrap_or(i64::MAX);
        Ok((rules, saved_at.saturating_add(kept).saturating_add(1)))
    }
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
