//! Tenants and their channels: phone numbers bound to one tenant, the
//! settings and template documents, the registry the report walks, and which
//! agent each customer belongs to.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{string_value, Store, StoreError, Transaction};
use super::item::{
    channel_of, doc_of, parse, saved_doc_of, versioned_doc_of, whole, ChannelItem,
    CustomerAgentItem, DocItem,
};
use super::keys;
use crate::model::Channel;

#[derive(Deserialize)]
struct TenantItem {
    #[serde(rename = "tenantId")]
    tenant: String,
}

/// A tenant in the registry the report walks.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegistryItem<'a> {
    tenant_id: &'a str,
}

impl CustomerAgentItem {
    /// Until when the customer is the agent's.
    fn until(&self) -> Option<i64> {
        self.agent_until.or(self.expires_at)
    }

    /// The agent, unless the memory expired (even before TTL deletes it).
    fn live_at(self, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
        let until = self.until();
        Some(self.agent).filter(|_| until.is_none_or(|e| e > now.timestamp()))
    }

    /// The last moment this item changed whose agent the customer is: its
    /// last write, or its running out. Unknown for an item written before
    /// the write time was kept: as late as can be.
    fn changed_by(&self, now: chrono::DateTime<chrono::Utc>) -> i64 {
        let ran_out = self.until().filter(|u| *u <= now.timestamp()).unwrap_or(0);
        self.since.unwrap_or(i64::MAX).max(ran_out)
    }
}

/// Where a new message goes ([`Store::route_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// The number is still bound to the tenant.
    pub bound: bool,
    /// The customer's agent, when one sent them an active message lately.
    pub agent: Option<String>,
    /// The number's default agent, as stored now.
    pub default_agent: Option<String>,
    /// The last moment (epoch seconds, our clock) at which either could
    /// have changed: the customer's agent written or run out, the number
    /// bound again. A message written after it goes to the record any
    /// other delivery of it went to, unless the settings changed.
    pub changed_at: i64,
}

/// How long the customer → agent memory outlives the last active message.
pub const CUSTOMER_AGENT_DAYS: i64 = 30;

impl Store {
    pub async fn get_channel(&self, phone_number_id: &str) -> Result<Option<Channel>, StoreError> {
        self.get(keys::channel(phone_number_id))
            .await?
            .map(|item| channel_of(phone_number_id, &item))
            .transpose()
    }

    /// Binds a number to a tenant, or updates it for the same tenant, in one
    /// transaction: the number must be free or already the tenant's
    /// ([`StoreError::ChannelTaken`]) and its account granted to the tenant
    /// ([`StoreError::NotGranted`]).
    pub async fn put_channel(&self, c: &Channel) -> Result<(), StoreError> {
        // The number's own item and the tenant's copy hold the same
        // attributes, so `channel_of` reads both.
        let changed_at = chrono::Utc::now().timestamp();
        let with_channel = |key| whole(key, &ChannelItem::of(c, changed_at));
        let items = vec![
            self.put_for_tenant(
                with_channel(keys::channel(&c.phone_number_id))?,
                &c.tenant_id,
            )?,
            self.granted_to(c)?,
            self.plain_put(with_channel(keys::tenant_channel(
                &c.tenant_id,
                &c.phone_number_id,
            ))?)?,
            self.register_tenant(&c.tenant_id)?,
            self.channel_in_book(c)?,
        ];
        match self.transact_or_reasons(items).await? {
            Transaction::Applied => Ok(()),
            Transaction::Refused(r) if super::client::failed_condition(&r, 0) => {
                Err(StoreError::ChannelTaken(c.phone_number_id.clone()))
            }
            Transaction::Refused(_) => Err(StoreError::NotGranted(c.waba_id.clone())),
        }
    }

    /// Whether this WhatsApp Business Account is granted to the tenant.
    pub async fn tenant_has_waba(&self, tenant: &str, waba_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .get(keys::tenant_account(tenant, waba_id))
            .await?
            .is_some())
    }

    /// An unconditional put, as one part of a transaction.
    pub(super) fn plain_put(
        &self,
        item: super::client::Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) fn register_tenant(&self, tenant: &str) -> Result<TransactWriteItem, StoreError> {
        self.plain_put(whole(
            keys::registry(tenant),
            &RegistryItem { tenant_id: tenant },
        )?)
    }

    async fn get_settings_doc(&self, tenant: &str) -> Result<Option<Value>, StoreError> {
        self.get(keys::settings(tenant))
            .await?
            .map(|i| doc_of(&i))
            .transpose()
    }

    /// Replaces the settings whatever their version (scripts, seeds), still
    /// moving the version on so that no reader's `ETag` matches the old ones.
    pub async fn put_settings(&self, tenant: &str, settings: &Value) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            let (_, version) = self.get_settings_versioned(tenant).await?;
            match self.put_settings_if(tenant, settings, version).await {
                Err(StoreError::Stale(_)) if attempt < 3 => attempt += 1,
                other => return other.map(|_| ()),
            }
        }
    }

    /// The settings document and its version, read strongly consistent
    /// (it decides a conditional write); version 0 when never written.
    pub async fn get_settings_versioned(
        &self,
        tenant: &str,
    ) -> Result<(Option<Value>, u64), StoreError> {
        match self.get_consistent(keys::settings(tenant)).await? {
            Some(item) => {
                let (value, version) = versioned_doc_of(&item)?;
                Ok((Some(value), version))
            }
            None => Ok((None, 0)),
        }
    }

    /// Writes the settings only if they are still at `expected` (no one
    /// changed them since they were read); returns the new version, or
    /// [`StoreError::Stale`] when someone else wrote first.
    pub async fn put_settings_if(
        &self,
        tenant: &str,
        settings: &Value,
        expected: u64,
    ) -> Result<u64, StoreError> {
        let item = whole(
            keys::settings(tenant),
            &DocItem {
                doc: settings.to_string(),
                version: expected + 1,
                saved_at: Some(chrono::Utc::now().timestamp()),
            },
        )?;
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = if expected == 0 {
            put.condition_expression("attribute_not_exists(version)")
        } else {
            put.condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(expected.to_string()))
        };
        let put = TransactWriteItem::builder()
            .put(put.build().map_err(StoreError::build)?)
            .build();
        match self
            .transact_or_reasons(vec![put, self.register_tenant(tenant)?])
            .await?
        {
            Transaction::Applied => Ok(expected + 1),
            Transaction::Refused(r) if super::client::failed_condition(&r, 0) => {
                Err(StoreError::Stale(format!("settings of {tenant}")))
            }
            Transaction::Refused(r) => Err(StoreError::Dynamo {
                kind: super::client::DynamoFailure::Other,
                detail: format!("settings write cancelled: {r:?}"),
            }),
        }
    }

    pub async fn get_settings(&self, tenant: &str) -> Result<Option<Value>, StoreError> {
        self.get_settings_doc(tenant).await
    }

    /// The settings and when they were saved (epoch seconds, our clock): 0
    /// when never, as late as can be when saved before the time was kept.
    pub async fn get_settings_saved(
        &self,
        tenant: &str,
    ) -> Result<(Option<Value>, i64), StoreError> {
        let Some(item) = self.get(keys::settings(tenant)).await? else {
            return Ok((None, 0));
        };
        let (doc, saved_at) = saved_doc_of(&item)?;
        Ok((Some(doc), saved_at.unwrap_or(i64::MAX)))
    }

    /// Whether the tenant is in the registry (it saved settings, templates,
    /// bound a channel or was granted an account).
    pub async fn tenant_exists(&self, tenant: &str) -> Result<bool, StoreError> {
        Ok(self.get_consistent(keys::registry(tenant)).await?.is_some())
    }

    /// Every tenant that has saved settings or bound a channel (one partition, paged).
    pub async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", string_value(keys::TENANTS));
        self.query_all(q)
            .await?
            .iter()
            .map(|i| parse::<TenantItem>(i).map(|t| t.tenant))
            .collect()
    }

    /// Up to `limit` tenants after `after`, in order, and whether more follow:
    /// a run over every tenant can stop and go on from where it stopped.
    pub async fn tenants_after(
        &self,
        after: Option<&str>,
        limit: i32,
    ) -> Result<(Vec<String>, bool), StoreError> {
        let start = after.map(keys::registry);
        let res = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", string_value(keys::TENANTS))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(super::client::dynamo)?;
        let tenants = res
            .items
            .unwrap_or_default()
            .iter()
            .map(|i| parse::<TenantItem>(i).map(|t| t.tenant))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((tenants, res.last_evaluated_key.is_some()))
    }

    /// Where a new message goes, in one round trip: whether the number is
    /// still bound to the tenant (an instance's cached binding may be older
    /// than an unbinding or a revoke) and the agent who last sent this
    /// customer an active message within [`CUSTOMER_AGENT_DAYS`], if any
    /// (expired memory counts as none, even before TTL deletes it).
    pub async fn route_message(
        &self,
        channel: &Channel,
        customer: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Routing, StoreError> {
        let tenant = &channel.tenant_id;
        let items = self
            .batch_get(vec![
                keys::channel(&channel.phone_number_id),
                keys::customer_agent(tenant, customer),
            ])
            .await?;
        let mut routing = Routing {
            bound: false,
            agent: None,
            default_agent: None,
            changed_at: 0,
        };
        for item in &items {
            match item.get("PK").and_then(|v| v.as_s().ok()) {
                Some(pk) if pk.starts_with("CH#") => {
                    let c: ChannelItem = parse(item)?;
                    routing.bound = c.tenant() == tenant;
                    routing.changed_at = routing.changed_at.max(c.changed_at.unwrap_or(i64::MAX));
                    routing.default_agent = Some(c.default_agent_id);
                }
                _ => {
                    let c: CustomerAgentItem = parse(item)?;
                    routing.changed_at = routing.changed_at.max(c.changed_by(now));
                    routing.agent = c.live_at(now);
                }
            }
        }
        Ok(routing)
    }

    /// The agent who last sent this customer an active message within
    /// [`CUSTOMER_AGENT_DAYS`], if any (expired memory counts as none, even
    /// before TTL deletes it).
    pub async fn agent_for_customer(
        &self,
        tenant: &str,
        customer: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, StoreError> {
        let Some(item) = self.get(keys::customer_agent(tenant, customer)).await? else {
            return Ok(None);
        };
        Ok(parse::<CustomerAgentItem>(&item)?.live_at(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn item(until: Option<i64>, since: Option<i64>) -> CustomerAgentItem {
        CustomerAgentItem {
            agent: "a-2".into(),
            updated_at: 100,
            agent_until: until,
            since,
            expires_at: Some(5_000),
        }
    }

    fn at(secs: i64) -> chrono::DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn the_customer_is_the_agents_until_the_memory_runs_out() {
        assert_eq!(
            item(Some(1_000), Some(200)).live_at(at(999)).as_deref(),
            Some("a-2")
        );
        assert_eq!(item(Some(1_000), Some(200)).live_at(at(1_000)), None);
        // An item from before `agentUntil` was kept: its expiry says it.
        assert_eq!(item(None, None).live_at(at(4_999)).as_deref(), Some("a-2"));
        assert_eq!(item(None, None).live_at(at(5_000)), None);
    }

    #[test]
    fn the_customer_changed_hands_when_written_or_when_the_memory_ran_out() {
        // Written at 200, still running: changed at 200.
        assert_eq!(item(Some(1_000), Some(200)).changed_by(at(500)), 200);
        // Ran out at 1,000 (seen at 1,000 or later): changed then.
        assert_eq!(item(Some(1_000), Some(200)).changed_by(at(1_000)), 1_000);
        assert_eq!(item(Some(1_000), Some(200)).changed_by(at(9_000)), 1_000);
        // Written before the time was kept: as late as can be.
        assert_eq!(item(Some(1_000), None).changed_by(at(500)), i64::MAX);
    }
}
