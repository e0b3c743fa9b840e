//! What every function builds once per cold start: the configuration, the
//! store with its connection already open, and the clients it may need.

use crate::config::{aws_clients, secret, Config, ConfigError};
use crate::events::Publisher;
use crate::graph::GraphClient;
use crate::store::Store;

pub struct Boot {
    pub cfg: Config,
    pub store: Store,
    pub eventbridge: aws_sdk_eventbridge::Client,
}

impl Boot {
    /// Reads the configuration (failing fast) and opens the DynamoDB connection
    /// during init, so the first request does not pay the TLS handshake.
    pub async fn load() -> Result<Boot, ConfigError> {
        let cfg = Config::from_env()?;
        let (dynamo, eventbridge) = aws_clients(&cfg).await;
        let store = Store::new(dynamo, cfg.table.clone());
        store.warm_up().await;
        Ok(Boot {
            cfg,
            store,
            eventbridge,
        })
    }

    /// The WhatsApp Graph API client, with its token from the configured secret.
    pub async fn graph(&self) -> Result<GraphClient, ConfigError> {
        let token = secret("WHATSAPP_TOKEN").await?;
        GraphClient::new(
            &self.cfg.graph_base_url,
            &self.cfg.graph_version,
            &token,
            self.cfg.graph_timeout,
        )
        .map_err(ConfigError)
    }

    /// The publisher to the project's bus.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(self.eventbridge.clone(), self.cfg.event_bus.clone())
    }
}
