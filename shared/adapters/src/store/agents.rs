//! Who works a tenant's desk: the agents that own live records (registered
//! when a record opens, forgotten 7 days after their last) and the channels'
//! default agents, with the name they go by and their counts.
//!
//! The counts are kept as they change, so the agent selector reads a fixed
//! number of items whatever the agents' volume: each agent's registry item
//! counts the records it opened by the hour they expire in (`n{hour}`), so the
//! live ones are the sum of the buckets not yet past; the pending callbacks
//! come from the sparse pending index, which holds exactly those.

use std::collections::HashMap;

use afterhours_rules::callback::RequestedCallback;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::client::{dynamo, number_value, string_value, Item, Store, StoreError, PENDING_INDEX};
use super::item::channel_of;
use super::keys;
use crate::model::Channel;

/// A record expiring at `expires_at` (epoch seconds) counts in this bucket.
fn bucket(expires_at: i64) -> i64 {
    expires_at.div_euclid(3600)
}

/// The registry attribute that counts the records of one expiry hour.
fn bucket_attribute(hour: i64) -> String {
    format!("n{hour}")
}

/// One agent as the desk's agent selector shows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentLoad {
    pub agent_id: String,
    /// The person's name from their token (`name`, else `email`), else the id.
    pub display_name: String,
    /// Live (unexpired) records.
    pub contacts: u32,
    /// Live records whose customer asked for a callback that nobody sent or handled yet.
    pub callbacks_pending: u32,
}

/// What the registry knows of an agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentEntry {
    pub agent_id: String,
    pub display_name: Option<String>,
    /// Until when they own a record (epoch seconds).
    pub expires_at: Option<i64>,
    /// Records opened, by the hour they expire in.
    pub buckets: Vec<(i64, u32)>,
}

impl AgentEntry {
    fn of(item: &Item) -> Option<AgentEntry> {
        let sk = item.get("SK")?.as_s().ok()?;
        let agent_id = sk.strip_prefix(keys::TENANT_AGENT)?.to_string();
        let number = |v: &AttributeValue| v.as_n().ok().and_then(|n| n.parse::<i64>().ok());
        let buckets = item
            .iter()
            .filter_map(|(k, v)| {
                let hour = k.strip_prefix('n')?.parse::<i64>().ok()?;
                Some((hour, u32::try_from(number(v)?).unwrap_or(0)))
            })
            .collect();
        Some(AgentEntry {
            agent_id,
            display_name: item.get("displayName").and_then(|v| v.as_s().ok()).cloned(),
            expires_at: item.get("expiresAt").and_then(number),
            buckets,
        })
    }

    /// The records not yet expired at `now`: those of the buckets not past
    /// (a record leaves the count at the end of the hour it expires in).
    pub fn live_contacts(&self, now: DateTime<Utc>) -> u32 {
        let current = bucket(now.timestamp());
        self.buckets
            .iter()
            .filter(|(h, _)| *h >= current)
            .map(|(_, n)| *n)
            .sum()
    }

    fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e > now.timestamp())
    }
}

impl Store {
    /// The registry entry of an agent whose record just opened: kept as long
    /// as that record, counting it in the hour it expires (one more part of
    /// the record's transaction). The buckets of the day before expire from
    /// the item as it goes.
    pub(super) fn agent_seen(
        &self,
        tenant: &str,
        agent: &str,
        expires_at: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let hour = bucket(expires_at);
        let stale: Vec<String> = (1..=24).map(|i| format!("#s{i}")).collect();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::agent(tenant, agent)))
            .update_expression(format!(
                "SET agentId = :a, expiresAt = :exp ADD #n :one REMOVE {}",
                stale.join(", ")
            ))
            .expression_attribute_names("#n", bucket_attribute(hour))
            .expression_attribute_values(":a", string_value(agent))
            .expression_attribute_values(":exp", number_value(expires_at))
            .expression_attribute_values(":one", number_value(1));
        for (i, name) in stale.iter().enumerate() {
            // The hours that ended 7 to 8 days before this one.
            let past = hour - 7 * 24 - 1 - i64::try_from(i).unwrap_or(0);
            update = update.expression_attribute_names(name, bucket_attribute(past));
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(StoreError::build)?)
            .build())
    }

    /// Remembers the name an agent goes by (from their token), once it changes.
    pub async fn remember_agent_name(
        &self,
        tenant: &str,
        agent: &str,
        name: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::agent(tenant, agent)))
            .update_expression("SET displayName = :n")
            .expression_attribute_values(":n", string_value(name))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(())
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

    /// The agents with live records or a channel to default to, sorted by
    /// id, each once, with what the registry knows of them.
    pub async fn known_agents(
        &self,
        tenant: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentEntry>, StoreError> {
        let (registered, channels) = futures::try_join!(
            self.tenant_items(tenant, keys::TENANT_AGENT),
            self.tenant_channels(tenant)
        )?;
        let mut agents: HashMap<String, (AgentEntry, bool)> = registered
            .iter()
            .filter_map(AgentEntry::of)
            .map(|e| {
                let live = e.is_live(now);
                (e.agent_id.clone(), (e, live))
            })
            .collect();
        for c in channels {
            agents
                .entry(c.default_agent_id.clone())
                .or_insert_with(|| {
                    let e = AgentEntry {
                        agent_id: c.default_agent_id.clone(),
                        ..AgentEntry::default()
                    };
                    (e, true)
                })
                .1 = true;
        }
        let mut listed: Vec<AgentEntry> = agents
            .into_values()
            .filter(|(_, listed)| *listed)
            .map(|(e, _)| e)
            .collect();
        listed.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        Ok(listed)
    }

    /// One agent's registry entry (`None` when they never opened a record nor used the desk).
    pub async fn agent_entry(
        &self,
        tenant: &str,
        agent: &str,
    ) -> Result<Option<AgentEntry>, StoreError> {
        Ok(self
            .get(keys::agent(tenant, agent))
            .await?
            .as_ref()
            .and_then(AgentEntry::of))
    }

    /// Each agent's pending callbacks (yes, not sent, not handled, live),
    /// from the sparse pending index: it holds only those, so it reads no
    /// record that is not one.
    pub async fn pending_by_agent(
        &self,
        tenant: &str,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, u32>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(PENDING_INDEX)
            .key_condition_expression("GSI1PK = :g")
            .filter_expression(
                "expiresAt > :now AND requestedCallback = :yes AND messageSent = :false \
                 AND attribute_not_exists(handledAt)",
            )
            .projection_expression("agentId")
            .expression_attribute_values(":g", string_value(keys::tenant_pk(tenant)))
            .expression_attribute_values(":now", number_value(now.timestamp()))
            .expression_attribute_values(":yes", string_value(RequestedCallback::Yes.as_str()))
            .expression_attribute_values(":false", AttributeValue::Bool(false));
        let mut counts = HashMap::new();
        for item in self.query_all(q).await? {
            if let Some(a) = item.get("agentId").and_then(|v| v.as_s().ok()) {
                *counts.entry(a.clone()).or_insert(0) += 1;
            }
        }
        Ok(counts)
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
    ) -> Result<Vec<super::client::Item>, StoreError> {
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
