//! What every function builds once per cold start: the configuration, the
//! store with its connection being opened, and the clients it may need.

use crate::config::{aws_clients, secret, Config, ConfigError};
use crate::events::Publisher;
use crate::graph::GraphClient;
use crate::store::Store;

pub struct ColdStart {
    pub cfg: Config,
    pub store: Store,
    pub eventbridge: aws_sdk_eventbridge::Client,
}

impl ColdStart {
    /// Reads the configuration (failing fast) and starts opening the
    /// DynamoDB connection (credentials, TLS handshake) during init, without
    /// holding the runtime's first `next`: the first event is fetched while
    /// it opens. The first request reuses that connection once it is open;
    /// one that comes sooner opens its own, so it never waits longer than
    /// it would have without the warm-up.
    pub async fn load() -> Result<ColdStart, ConfigError> {
        let boot = Self::clients().await?;
        boot.store.warm_up_in_background();
        Ok(boot)
    }

    /// Like [`ColdStart::load`], and builds the Graph API client.
    pub async fn load_with_graph() -> Result<(ColdStart, GraphClient), ConfigError> {
        let boot = Self::clients().await?;
        boot.store.warm_up_in_background();
        let graph = boot.graph().await?;
        Ok((boot, graph))
    }

    async fn clients() -> Result<ColdStart, ConfigError> {
        let cfg = Config::from_env()?;
        let (dynamo, eventbridge) = aws_clients(&cfg).await?;
        let store = Store::new(dynamo, cfg.table.clone());
        Ok(ColdStart {
            cfg,
            store,
            eventbridge,
        })
    }

    /// The WhatsApp Graph API client, with its token from the configured secret.
    pub async fn graph(&self) -> Result<GraphClient, ConfigError> {
        graph_client(&self.cfg).await
    }

    /// The publisher to the project's bus.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(self.eventbridge.clone(), self.cfg.event_bus.clone())
    }
}

/// The WhatsApp Graph API client for a configuration, with its token from the
/// configured secret.
pub async fn graph_client(cfg: &Config) -> Result<GraphClient, ConfigError> {
    let token = secret("WHATSAPP_TOKEN").await?;
    GraphClient::new(
        &cfg.graph_base_url,
        &cfg.graph_version,
        &token,
        cfg.graph_timeout,
    )
    .map(|g| g.trusting(cfg.extra_roots.clone()))
}
