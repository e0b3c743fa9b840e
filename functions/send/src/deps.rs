//! What the send function holds for its whole life: the store, the Graph
//! client, the bus, the clock, and the tenants' rules for the answers'
//! language.

use afterhours_adapters::boot::ColdStart;
use afterhours_adapters::config::ConfigError;
use afterhours_adapters::events::Publisher;
use afterhours_adapters::graph::GraphClient;
use afterhours_adapters::lambda::{system_clock, Clock};
use afterhours_adapters::store::Store;
use afterhours_adapters::tenant::RulesCache;

pub struct Deps {
    pub store: Store,
    pub graph: GraphClient,
    pub events: Publisher,
    pub clock: Clock,
    /// Each tenant's rules, cached briefly: the language of every answer.
    /// The cap is judged on the settings read with the send (never cached).
    pub rules: RulesCache,
}

impl Deps {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let (boot, graph) = ColdStart::load_with_graph().await?;
        Ok(Deps {
            graph,
            events: boot.publisher(),
            rules: RulesCache::new(boot.cfg.rules_cache),
            store: boot.store,
            clock: system_clock(),
        })
    }
}
