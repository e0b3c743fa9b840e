//! Who works a tenant's desk: the agents that own live records (registered
//! when a record opens, forgotten 7 days after their last) and the channels'
//! default agents, with each one's live contacts and pending callbacks.

use afterhours_rules::callback::RequestedCallback;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;

use super::item::{channel_of, parse};
use super::keys;
use super::{number_value, string_value, Store, StoreError};
use crate::model::Channel;

/// How many agents' partitions are counted at once.
pub const AGENT_COUNT_CONCURRENCY: usize = 10;

/// One agent's load, for the desk's agent selector.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentLoad {
    pub agent_id: String,
    /// Live (unexpired) records.
    pub contacts: u32,
    /// Live records whose customer asked for a callback that nobody sent yet.
    pub callbacks_pending: u32,
}

#[derive(Deserialize)]
struct AgentItem {
    #[serde(rename = "agentId")]
    agent: String,
    #[serde(rename = "expiresAt")]
    expires_at: i64,
}

#[derive(Deserialize)]
struct LoadItem {
    #[serde(rename = "requestedCallback")]
    requested_callback: String,
    #[serde(rename = "messageSent")]
    message_sent: bool,
}

impl Store {
    /// The registry entry of an agent whose record just opened, kept as long
    /// as that record (one more part of the record's transaction).
    pub(super) fn agent_seen(
        &self,
        tenant: &str,
        agent: &str,
        expires_at: AttributeValue,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::agent(tenant, agent)))
            .update_expression("SET agentId = :a, expiresAt = :exp")
            .expression_attribute_values(":a", string_value(agent))
            .expression_attribute_values(":exp", expires_at)
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The tenant's channels (numbers it bound), by phone number id.
    pub async fn tenant_channels(&self, tenant: &str) -> Result<Vec<Channel>, StoreError> {
        let items = self.tenant_items(tenant, keys::TENANT_CHANNEL).await?;
        items
            .iter()
            .map(|i| {
                let sk = i
                    .get("SK")
                    .and_then(|v| v.as_s().ok())
                    .map_or("", String::as_str);
                channel_of(sk.strip_prefix(keys::TENANT_CHANNEL).unwrap_or(sk), i)
            })
            .collect()
    }

    /// Agents with live records or a channel to default to, sorted, each once.
    pub async fn known_agents(
        &self,
        tenant: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let (registered, channels) = futures::try_join!(
            self.tenant_items(tenant, keys::TENANT_AGENT),
            self.tenant_channels(tenant)
        )?;
        let mut agents = Vec::with_capacity(registered.len() + channels.len());
        for i in &registered {
            let a: AgentItem = parse(i)?;
            if a.expires_at > now.timestamp() {
                agents.push(a.agent);
            }
        }
        agents.extend(channels.into_iter().map(|c| c.default_agent_id));
        agents.sort();
        agents.dedup();
        Ok(agents)
    }

    /// Each agent's live contacts and pending callbacks: one Query per agent
    /// (only two small attributes come back), ten at a time.
    pub async fn agent_loads(
        &self,
        tenant: &str,
        agents: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentLoad>, StoreError> {
        // Owned ids: a future borrowing each item would not be `Send` for
        // every lifetime, which the gateway's spawned tasks require.
        stream::iter(agents.to_vec())
            .map(|a| async move { self.agent_load(tenant, &a, now).await })
            .buffered(AGENT_COUNT_CONCURRENCY)
            .try_collect()
            .await
    }

    async fn agent_load(
        &self,
        tenant: &str,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<AgentLoad, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .filter_expression("expiresAt > :now")
            .projection_expression("requestedCallback, messageSent")
            .expression_attribute_values(":pk", string_value(keys::agent_partition(tenant, agent)))
            .expression_attribute_values(":now", number_value(now.timestamp()));
        let mut load = AgentLoad {
            agent_id: agent.to_string(),
            contacts: 0,
            callbacks_pending: 0,
        };
        for item in self.query_all(q).await? {
            let r: LoadItem = parse(&item)?;
            load.contacts += 1;
            if r.requested_callback == RequestedCallback::Yes.as_str() && !r.message_sent {
                load.callbacks_pending += 1;
            }
        }
        Ok(load)
    }

    /// The WhatsApp Business Accounts granted to the tenant, sorted.
    pub async fn tenant_wabas(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = self
            .tenant_items(tenant, keys::TENANT_ACCOUNT)
            .await?
            .iter()
            .filter_map(|i| i.get("wabaId").and_then(|v| v.as_s().ok()).cloned())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The items of the tenant's partition whose sort key starts with `prefix`.
    pub(super) async fn tenant_items(
        &self,
        tenant: &str,
        prefix: &str,
    ) -> Result<Vec<super::Item>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
            .expression_attribute_values(":pk", string_value(keys::tenant_pk(tenant)))
            .expression_attribute_values(":p", string_value(prefix));
        self.query_all(q).await
    }
}
