//! What the contacts function holds for its whole life: the store, the
//! cursor signer, the clock, and the tenants' rules and agents' names it keeps.

use std::sync::Arc;

use afterhours_adapters::boot::ColdStart;
use afterhours_adapters::config::{secret, ConfigError};
use afterhours_adapters::cursor::CursorSigner;
use afterhours_adapters::desk::DeskRequest;
use afterhours_adapters::http::ApiError;
use afterhours_adapters::lambda::{system_clock, Clock};
use afterhours_adapters::store::Store;
use afterhours_adapters::tenant::{RulesCache, TtlCache};
use afterhours_rules::settings::TenantRules;

pub struct Deps {
    pub store: Store,
    pub cursors: CursorSigner,
    pub clock: Clock,
    /// Settings cached briefly, so a list page costs one Query and one batch read.
    pub rules: RulesCache,
    /// The names already remembered for (tenant, agent), so a name costs one write per change.
    pub names: TtlCache<(String, String), String>,
}

/// A cache of remembered names: an hour, up to 10,000 agents per instance.
pub fn name_cache() -> TtlCache<(String, String), String> {
    TtlCache::new(std::time::Duration::from_secs(3600), 10_000)
}

impl Deps {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let boot = ColdStart::load().await?;
        Ok(Deps {
            store: boot.store,
            cursors: CursorSigner::new(secret("CURSOR_SECRET").await?.as_bytes())?,
            clock: system_clock(),
            rules: RulesCache::new(boot.cfg.rules_cache),
            names: name_cache(),
        })
    }
}

/// The caller's tenant's rules, as the instance keeps them, read at most
/// once per request.
pub async fn tenant_rules(deps: &Deps, desk: &DeskRequest) -> Result<Arc<TenantRules>, ApiError> {
    Ok(desk.rules(&deps.store, &deps.rules).await?)
}
