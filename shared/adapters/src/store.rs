//! The DynamoDB single-table store. Item layout (see `infra/table.json`):
//!
//! | item | PK | SK | notes |
//! | --- | --- | --- | --- |
//! | channel | `CH#{phoneNumberId}` | `CHANNEL` | bound to one tenant by a conditional put |
//! | settings / templates | `T#{tenant}` | `SETTINGS` / `TEMPLATES` | JSON documents |
//! | customer's agent | `T#{tenant}` | `CUST#{customer}` | who last sent them an active message |
//! | tenant registry | `TENANTS` | `T#{tenant}` | what the report walks |
//! | contact record | `T#{tenant}#A#{agent}` | `C#{customer}#{period}` | `LSK` (LSI1) orders by first contact; `GSI1PK/GSI1SK` only while a callback is pending |
//! | message pointer | `W#{wamid}` | `W` | a prompt or active message this system sent → its record |
//! | cap counter | `Q#{tenant}#{agent}#{customer}` | `Q` | counted send times; TTL when idle |
//! | idempotency | `I#{tenant}#{agent}#{key}` | `I` | body hash and stored result; TTL |

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValue, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;

use afterhours_rules::cap::{self, Quota};
use afterhours_rules::RETENTION_DAYS;

use crate::cursor::CursorSigner;
use crate::model::{
    agent_pk, Channel, ContactRecord, Delivery, Inbound, IngestOutcome, ListFilter, RecordKey,
};

pub const LSI: &str = "LSI1";
pub const PENDING_INDEX: &str = "GSI1";
/// How often a transaction cancelled by a conflict is tried again.
pub const TRANSACT_RETRIES: u32 = 4;

type TransactError = aws_sdk_dynamodb::error::SdkError<
    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    aws_sdk_dynamodb::config::http::HttpResponse,
>;

/// A cancellation caused by another transaction (worth retrying), not by a condition.
fn is_conflict(
    e: &aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match e {
        E::TransactionCanceledException(t) => {
            t.cancellation_reasons()
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
                && !t
                    .cancellation_reasons()
                    .iter()
                    .any(|r| r.code() == Some("ConditionalCheckFailed"))
        }
        E::TransactionInProgressException(_) => true,
        _ => false,
    }
}

/// How long idempotency records are kept.
pub const IDEMPOTENCY_HOURS: i64 = 24;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("dynamodb: {0}")]
    Dynamo(String),
    #[error("stored item is malformed: {0}")]
    Malformed(String),
    #[error("the cursor is not one this service issued for this query")]
    BadCursor,
    #[error("phone number {0} is bound to another tenant")]
    ChannelTaken(String),
    #[error("too much contention on {0}; try again")]
    Contention(String),
}

fn dynamo<E: std::error::Error + 'static>(e: aws_sdk_dynamodb::error::SdkError<E>) -> StoreError {
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
    StoreError::Dynamo(detail)
}

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n(item: &Item, k: &str) -> Option<i64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|x| x.parse().ok())
}

fn get_bool(item: &Item, k: &str) -> Option<bool> {
    item.get(k).and_then(|v| v.as_bool().ok()).copied()
}

fn ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("PK".to_string(), s(pk)), ("SK".to_string(), s(sk))])
}

/// A pending callback's sort key in the pending index and the LSI: first contact, then identity.
fn order_key(first_at: DateTime<Utc>, k: &RecordKey) -> String {
    format!(
        "{:012}#{}#{}#{}",
        first_at.timestamp(),
        k.agent,
        k.customer,
        k.period
    )
}

/// What the cap counter holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counter {
    /// (send time, slot token), oldest first.
    pub sends: Vec<(DateTime<Utc>, String)>,
    pub version: i64,
}

impl Counter {
    pub fn times(&self) -> Vec<DateTime<Utc>> {
        self.sends.iter().map(|(t, _)| *t).collect()
    }
}

/// A slot the cap gave out; `release` gives it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub token: String,
    pub quota_after: Quota,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is ours now; go ahead.
    Claimed,
    /// Done before with this body: here is the stored response (status, body).
    Done { status: u16, body: String },
    /// Another request with this key is still running.
    InProgress,
    /// The key was used with another body.
    Mismatch,
}

/// What `send_context` read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendContext {
    pub record: Option<ContactRecord>,
    pub settings: Option<Value>,
    pub templates: Option<Value>,
    pub counter: Option<Counter>,
}

/// A page of `GET /contacts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<ContactRecord>,
    pub next_cursor: Option<String>,
}

/// The one store every function uses.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A cheap call that opens the connection during init, so the first request does not pay the TLS handshake.
    pub async fn warm_up(&self) {
        let _ = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
    }

    async fn get(&self, k: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(k))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(out.item)
    }

    /// Reads many items in one request (retrying unprocessed keys), in no particular order.
    pub async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut unique: Vec<Item> = Vec::new();
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        for chunk in unique.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .build()
                    .map_err(|e| StoreError::Dynamo(e.to_string()))?,
            );
            let mut attempt = 0;
            while let Some(req) = pending.take() {
                let res = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(dynamo)?;
                if let Some(mut r) = res.responses {
                    out.extend(r.remove(&self.table).unwrap_or_default());
                }
                pending = res
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
                attempt += 1;
                if pending.is_some() {
                    if attempt > 8 {
                        return Err(StoreError::Contention("batch read".into()));
                    }
                    tokio::time::sleep(StdDuration::from_millis(20 << attempt.min(5))).await;
                }
            }
        }
        Ok(out)
    }

    /// Runs a transaction, retrying (with a short backoff) when DynamoDB cancels
    /// it for a conflict with another transaction on the same items. DynamoDB
    /// Local never does; AWS does under load, so this is tested with mocks.
    pub async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
        let mut attempt = 0u32;
        loop {
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match res {
                Err(e)
                    if attempt < TRANSACT_RETRIES
                        && e.as_service_error().is_some_and(is_conflict) =>
                {
                    attempt += 1;
                    tracing::warn!(attempt, "transaction conflict; retrying");
                    tokio::time::sleep(StdDuration::from_millis(10 << attempt)).await;
                }
                other => return other.map(|_| ()),
            }
        }
    }

    // ------------------------------------------------------------------ channels, settings, templates

    pub async fn get_channel(&self, phone_number_id: &str) -> Result<Option<Channel>, StoreError> {
        let Some(item) = self
            .get(key(format!("CH#{phone_number_id}"), "CHANNEL"))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(Channel {
            phone_number_id: phone_number_id.to_string(),
            tenant_id: get_s(&item, "tenantId")
                .ok_or(StoreError::Malformed("channel without tenantId".into()))?,
            waba_id: get_s(&item, "wabaId").unwrap_or_default(),
            display_phone_number: get_s(&item, "displayPhoneNumber").unwrap_or_default(),
            default_agent_id: get_s(&item, "defaultAgentId").unwrap_or_default(),
        }))
    }

    /// Binds a number to a tenant, or updates it for the same tenant. One conditional put;
    /// a number that belongs to another tenant is refused.
    pub async fn put_channel(&self, c: &Channel) -> Result<(), StoreError> {
        let mut item = key(format!("CH#{}", c.phone_number_id), "CHANNEL");
        item.insert("tenantId".into(), s(&c.tenant_id));
        item.insert("wabaId".into(), s(&c.waba_id));
        item.insert("displayPhoneNumber".into(), s(&c.display_phone_number));
        item.insert("defaultAgentId".into(), s(&c.default_agent_id));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR tenantId = :t")
            .expression_attribute_values(":t", s(&c.tenant_id))
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        let mut waba = key(format!("T#{}", c.tenant_id), format!("WABA#{}", c.waba_id));
        waba.insert("wabaId".into(), s(&c.waba_id));
        let waba = Put::builder()
            .table_name(&self.table)
            .set_item(Some(waba))
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        let res = self
            .transact(vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().put(waba).build(),
                self.register_tenant(&c.tenant_id)?,
            ])
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_condition_cancel(&e) => {
                Err(StoreError::ChannelTaken(c.phone_number_id.clone()))
            }
            Err(e) => Err(dynamo(e)),
        }
    }

    /// Whether one of the tenant's channels belongs to this WhatsApp Business Account.
    pub async fn tenant_has_waba(&self, tenant: &str, waba_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .get(key(format!("T#{tenant}"), format!("WABA#{waba_id}")))
            .await?
            .is_some())
    }

    fn register_tenant(&self, tenant: &str) -> Result<TransactWriteItem, StoreError> {
        let mut item = key("TENANTS", format!("T#{tenant}"));
        item.insert("tenantId".into(), s(tenant));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn put_tenant_doc(&self, tenant: &str, sk: &str, doc: &Value) -> Result<(), StoreError> {
        let mut item = key(format!("T#{tenant}"), sk);
        item.insert("doc".into(), s(doc.to_string()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        self.transact(vec![
            TransactWriteItem::builder().put(put).build(),
            self.register_tenant(tenant)?,
        ])
        .await
        .map_err(dynamo)
    }

    fn doc_of(item: &Item) -> Result<Value, StoreError> {
        let raw = get_s(item, "doc").ok_or(StoreError::Malformed("document without doc".into()))?;
        serde_json::from_str(&raw).map_err(|e| StoreError::Malformed(e.to_string()))
    }

    pub async fn put_settings(&self, tenant: &str, settings: &Value) -> Result<(), StoreError> {
        self.put_tenant_doc(tenant, "SETTINGS", settings).await
    }

    pub async fn put_templates(&self, tenant: &str, templates: &Value) -> Result<(), StoreError> {
        self.put_tenant_doc(tenant, "TEMPLATES", templates).await
    }

    /// Settings and templates of a tenant in one read: (settings, templates).
    pub async fn tenant_docs(
        &self,
        tenant: &str,
    ) -> Result<(Option<Value>, Option<Value>), StoreError> {
        let items = self
            .batch_get(vec![
                key(format!("T#{tenant}"), "SETTINGS"),
                key(format!("T#{tenant}"), "TEMPLATES"),
            ])
            .await?;
        let (mut settings, mut templates) = (None, None);
        for it in &items {
            match get_s(it, "SK").as_deref() {
                Some("SETTINGS") => settings = Some(Self::doc_of(it)?),
                Some("TEMPLATES") => templates = Some(Self::doc_of(it)?),
                _ => {}
            }
        }
        Ok((settings, templates))
    }

    pub async fn get_settings(&self, tenant: &str) -> Result<Option<Value>, StoreError> {
        self.get(key(format!("T#{tenant}"), "SETTINGS"))
            .await?
            .map(|i| Self::doc_of(&i))
            .transpose()
    }

    pub async fn get_templates(&self, tenant: &str) -> Result<Option<Value>, StoreError> {
        self.get(key(format!("T#{tenant}"), "TEMPLATES"))
            .await?
            .map(|i| Self::doc_of(&i))
            .transpose()
    }

    /// Every tenant that has saved settings or bound a channel (one partition, paged).
    pub async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s("TENANTS"));
        let items = self.query_all(q).await?;
        Ok(items.iter().filter_map(|i| get_s(i, "tenantId")).collect())
    }

    /// Every item a query matches, following `LastEvaluatedKey` page by page.
    async fn query_all(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let res = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamo)?;
            out.extend(res.items.unwrap_or_default());
            start = res.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// The agent who last sent this customer an active message, if any.
    pub async fn agent_for_customer(
        &self,
        tenant: &str,
        customer: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(key(format!("T#{tenant}"), format!("CUST#{customer}")))
            .await?
            .and_then(|i| get_s(&i, "agentId")))
    }

    // ------------------------------------------------------------------ contact records

    /// Records one inbound message outside hours: one conditional update that
    /// creates the record or adds to it, refused when this `wamid` was already
    /// counted. A message older than what is stored (out of order) costs one
    /// more write to keep first/last times right.
    pub async fn record_inbound(&self, m: &Inbound) -> Result<IngestOutcome, StoreError> {
        let at = m.at.timestamp();
        let expires = at + Duration::days(RETENTION_DAYS).num_seconds();
        let mut set = vec![
            "tenantId = :tenant",
            "agentId = :agent",
            "customerId = :customer",
            "periodStart = :period",
            "channelId = :channel",
            "firstAt = if_not_exists(firstAt, :at)",
            "LSK = if_not_exists(LSK, :lsk)",
            "expiresAt = if_not_exists(expiresAt, :exp)",
            "lastAt = :at",
            "requestedCallback = if_not_exists(requestedCallback, :na)",
            "messageSent = if_not_exists(messageSent, :false)",
        ];
        let mut values: Item = HashMap::from([
            (":tenant".into(), s(&m.key.tenant)),
            (":agent".into(), s(&m.key.agent)),
            (":customer".into(), s(&m.key.customer)),
            (":period".into(), n(m.key.period)),
            (":channel".into(), s(&m.channel)),
            (":at".into(), n(at)),
            (":lsk".into(), s(order_key(m.at, &m.key))),
            (":exp".into(), n(expires)),
            (":na".into(), s("n/a")),
            (":false".into(), AttributeValue::Bool(false)),
            (":wamid".into(), s(&m.wamid)),
            (":wamids".into(), AttributeValue::Ss(vec![m.wamid.clone()])),
            (":one".into(), n(1)),
        ]);
        if let Some(w) = &m.wa_id {
            set.push("waId = :wa");
            values.insert(":wa".into(), s(w));
        }
        if let Some(u) = &m.user_id {
            set.push("userId = :uid");
            values.insert(":uid".into(), s(u));
        }
        if let Some(name) = &m.name {
            set.push("profileName = :name");
            values.insert(":name".into(), s(name));
        }
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(m.key.pk(), m.key.sk())))
            .update_expression(format!(
                "SET {} ADD wamids :wamids, msgCount :one",
                set.join(", ")
            ))
            .condition_expression("NOT contains(wamids, :wamid)")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old = match res {
            Ok(out) => out.attributes.filter(|a| !a.is_empty()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|x| x.is_conditional_check_failed_exception()) =>
            {
                return Ok(IngestOutcome::Duplicate)
            }
            Err(e) => return Err(dynamo(e)),
        };
        let Some(old) = old else {
            return Ok(IngestOutcome::Created);
        };
        self.repair_out_of_order(m, &old).await?;
        Ok(IngestOutcome::Added)
    }

    /// A message that arrived after a later one: restore the later last time and
    /// name, and move the first contact back when this one is earlier.
    async fn repair_out_of_order(&self, m: &Inbound, old: &Item) -> Result<(), StoreError> {
        let at = m.at.timestamp();
        let k = key(m.key.pk(), m.key.sk());
        if let Some(old_last) = get_n(old, "lastAt").filter(|l| *l > at) {
            let mut set = vec!["lastAt = :old"];
            let mut values: Item =
                HashMap::from([(":old".into(), n(old_last)), (":at".into(), n(at))]);
            if let Some(name) = get_s(old, "profileName") {
                set.push("profileName = :name");
                values.insert(":name".into(), s(name));
            }
            let r = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(k.clone()))
                .update_expression(format!("SET {}", set.join(", ")))
                .condition_expression("lastAt = :at")
                .set_expression_attribute_values(Some(values))
                .send()
                .await;
            ignore_condition(r)?;
        }
        if get_n(old, "firstAt").is_some_and(|f| f > at) {
            let r = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(k))
                .update_expression("SET firstAt = :at, LSK = :lsk, expiresAt = :exp")
                .condition_expression("firstAt > :at")
                .expression_attribute_values(":at", n(at))
                .expression_attribute_values(":lsk", s(order_key(m.at, &m.key)))
                .expression_attribute_values(
                    ":exp",
                    n(at + Duration::days(RETENTION_DAYS).num_seconds()),
                )
                .send()
                .await;
            ignore_condition(r)?;
        }
        Ok(())
    }

    fn pointer_put(
        &self,
        wamid: &str,
        k: &RecordKey,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key(format!("W#{wamid}"), "W");
        item.insert("tenantId".into(), s(&k.tenant));
        item.insert("recordPK".into(), s(k.pk()));
        item.insert("recordSK".into(), s(k.sk()));
        item.insert("pointerKind".into(), s(kind));
        item.insert(
            "expiresAt".into(),
            n(at.timestamp() + Duration::days(RETENTION_DAYS + 1).num_seconds()),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The prompt went out: the record waits for the customer's answer. One transaction
    /// (the record and the pointer from the prompt's `wamid`).
    pub async fn mark_prompt_sent(
        &self,
        k: &RecordKey,
        wamid: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(k.pk(), k.sk())))
            .update_expression("SET requestedCallback = :pending, promptWamid = :w")
            .condition_expression("attribute_exists(PK) AND requestedCallback = :na")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":na", s("n/a"))
            .expression_attribute_values(":w", s(wamid))
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        let res = self
            .transact(vec![
                TransactWriteItem::builder().update(update).build(),
                self.pointer_put(wamid, k, "prompt", at)?,
            ])
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_condition_cancel(&e) => Ok(()),
            Err(e) => Err(dynamo(e)),
        }
    }

    async fn pointer(
        &self,
        wamid: &str,
    ) -> Result<Option<(String, String, String, String)>, StoreError> {
        let Some(item) = self.get(key(format!("W#{wamid}"), "W")).await? else {
            return Ok(None);
        };
        Ok(Some((
            get_s(&item, "tenantId").unwrap_or_default(),
            get_s(&item, "recordPK").unwrap_or_default(),
            get_s(&item, "recordSK").unwrap_or_default(),
            get_s(&item, "pointerKind").unwrap_or_default(),
        )))
    }

    /// The customer tapped Yes or No on the prompt `prompt_wamid`. Only a newer tap
    /// changes the answer, so a redelivered tap changes nothing. A pending `yes`
    /// puts the record in the pending-callback index; anything else takes it out.
    /// Returns whether the record changed.
    pub async fn answer_callback(
        &self,
        tenant: &str,
        prompt_wamid: &str,
        yes: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some((ptenant, pk, sk, kind)) = self.pointer(prompt_wamid).await? else {
            return Ok(false);
        };
        if ptenant != tenant || kind != "prompt" {
            return Ok(false);
        }
        let answer = if yes { "yes" } else { "no" };
        let attempt = |with_index: bool| {
            let mut req = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(pk.clone(), sk.clone())))
                .expression_attribute_values(":ans", s(answer))
                .expression_attribute_values(":at", n(at.timestamp()))
                .expression_attribute_values(":w", s(prompt_wamid));
            let base = "attribute_exists(PK) AND promptWamid = :w AND (attribute_not_exists(callbackAt) OR callbackAt < :at)";
            if with_index {
                req = req
                    .update_expression(
                        "SET requestedCallback = :ans, callbackAt = :at, GSI1PK = :g, GSI1SK = LSK",
                    )
                    .condition_expression(format!("{base} AND messageSent = :false"))
                    .expression_attribute_values(":g", s(format!("T#{tenant}")))
                    .expression_attribute_values(":false", AttributeValue::Bool(false));
            } else {
                req = req
                    .update_expression(
                        "SET requestedCallback = :ans, callbackAt = :at REMOVE GSI1PK, GSI1SK",
                    )
                    .condition_expression(base);
            }
            req.send()
        };
        if yes && applied(attempt(true).await)? {
            return Ok(true);
        }
        // A `no`, or a `yes` on a record already answered by an active message.
        applied(attempt(false).await)
    }

    /// A delivery status for a message this system sent. Statuses never move a
    /// record backwards and only the record's latest active message counts.
    pub async fn update_delivery(
        &self,
        tenant: &str,
        wamid: &str,
        status: &str,
        rank: u8,
        at: DateTime<Utc>,
        error: Option<(i64, String)>,
    ) -> Result<bool, StoreError> {
        let Some((ptenant, pk, sk, kind)) = self.pointer(wamid).await? else {
            return Ok(false);
        };
        if ptenant != tenant || kind != "active" {
            return Ok(false);
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(PK) AND sentWamid = :w AND (attribute_not_exists(deliveryRank) OR deliveryRank < :r)")
            .expression_attribute_values(":w", s(wamid))
            .expression_attribute_values(":r", n(i64::from(rank)))
            .expression_attribute_values(":st", s(status))
            .expression_attribute_values(":at", n(at.timestamp()));
        req = match error {
            Some((code, title)) => req
                .update_expression("SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :r, deliveryErrorCode = :ec, deliveryErrorTitle = :et")
                .expression_attribute_values(":ec", n(code))
                .expression_attribute_values(":et", s(title)),
            None => req.update_expression("SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :r"),
        };
        applied(req.send().await)
    }

    /// One record, `None` when missing or expired (even before TTL deletes it).
    pub async fn get_record(
        &self,
        k: &RecordKey,
        now: DateTime<Utc>,
    ) -> Result<Option<ContactRecord>, StoreError> {
        match self.get(key(k.pk(), k.sk())).await? {
            Some(item) => Ok(Some(record_of(&item)?).filter(|r| r.is_live(now))),
            None => Ok(None),
        }
    }

    /// One page of an agent's records, newest first contact first; one Query.
    #[allow(clippy::too_many_arguments)] // each is one part of the query; a struct would only rename them
    pub async fn list_records(
        &self,
        tenant: &str,
        agent: &str,
        filter: &ListFilter,
        limit: i32,
        cursor: Option<&str>,
        signer: &CursorSigner,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError> {
        let pk = agent_pk(tenant, agent);
        let scope = format!(
            "{pk}|{:?}|{:?}",
            filter.requested_callback, filter.message_sent
        );
        let start = match cursor {
            Some(c) => {
                let (sk, lsk) = signer.open(&scope, c).ok_or(StoreError::BadCursor)?;
                Some(HashMap::from([
                    ("PK".to_string(), s(&pk)),
                    ("SK".to_string(), s(sk)),
                    ("LSK".to_string(), s(lsk)),
                ]))
            }
            None => None,
        };
        let mut filters = vec!["expiresAt > :now"];
        let mut values: Item =
            HashMap::from([(":pk".into(), s(&pk)), (":now".into(), n(now.timestamp()))]);
        if let Some(rc) = &filter.requested_callback {
            filters.push("requestedCallback = :rc");
            values.insert(":rc".into(), s(rc));
        }
        if let Some(ms) = filter.message_sent {
            filters.push("messageSent = :ms");
            values.insert(":ms".into(), AttributeValue::Bool(ms));
        }
        let res = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(LSI)
            .key_condition_expression("PK = :pk")
            .filter_expression(filters.join(" AND "))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(dynamo)?;
        let items = res
            .items
            .unwrap_or_default()
            .iter()
            .map(record_of)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = res.last_evaluated_key.map(|lek| {
            signer.seal(
                &scope,
                &get_s(&lek, "SK").unwrap_or_default(),
                &get_s(&lek, "LSK").unwrap_or_default(),
            )
        });
        Ok(Page { items, next_cursor })
    }

    /// A tenant's pending callbacks (yes, not sent, not expired), from the sparse
    /// pending index: one partition, no scan.
    pub async fn pending_callbacks(
        &self,
        tenant: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<ContactRecord>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(PENDING_INDEX)
            .key_condition_expression("GSI1PK = :g")
            .filter_expression(
                "expiresAt > :now AND requestedCallback = :yes AND messageSent = :false",
            )
            .expression_attribute_values(":g", s(format!("T#{tenant}")))
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":yes", s("yes"))
            .expression_attribute_values(":false", AttributeValue::Bool(false));
        self.query_all(q).await?.iter().map(record_of).collect()
    }

    /// The active message went out: the record is marked sent (and leaves the
    /// pending index), the `wamid` points at it for statuses, the customer is
    /// remembered as the sender's, and the idempotent result is stored, all in
    /// one transaction.
    pub async fn mark_sent(
        &self,
        k: &RecordKey,
        sender: &str,
        template: (&str, &str),
        wamid: &str,
        at: DateTime<Utc>,
        idempotency: Option<(&str, u16, &str)>,
    ) -> Result<(), StoreError> {
        let b = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Dynamo(e.to_string());
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(k.pk(), k.sk())))
            .update_expression(
                "SET messageSent = :true, sentBy = :by, sentAt = :at, sentTemplate = :tn, sentLanguage = :tl, sentWamid = :w, \
                 deliveryStatus = :acc, deliveryAt = :at, deliveryRank = :zero REMOVE GSI1PK, GSI1SK, deliveryErrorCode, deliveryErrorTitle",
            )
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":by", s(sender))
            .expression_attribute_values(":at", n(at.timestamp()))
            .expression_attribute_values(":tn", s(template.0))
            .expression_attribute_values(":tl", s(template.1))
            .expression_attribute_values(":w", s(wamid))
            .expression_attribute_values(":acc", s("accepted"))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(b)?;
        let mut cust = key(format!("T#{}", k.tenant), format!("CUST#{}", k.customer));
        cust.insert("agentId".into(), s(sender));
        cust.insert("updatedAt".into(), n(at.timestamp()));
        let mut items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.pointer_put(wamid, k, "active", at)?,
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(cust))
                        .build()
                        .map_err(b)?,
                )
                .build(),
        ];
        if let Some((idem_pk, status, body)) = idempotency {
            let u = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(idem_pk, "I")))
                .update_expression("SET idemState = :done, statusCode = :sc, resultJson = :r")
                .expression_attribute_values(":done", s("done"))
                .expression_attribute_values(":sc", n(i64::from(status)))
                .expression_attribute_values(":r", s(body))
                .build()
                .map_err(b)?;
            items.push(TransactWriteItem::builder().update(u).build());
        }
        self.transact(items).await.map_err(dynamo)
    }

    /// Everything a send needs, in one batch read: the record (if live), the
    /// tenant's settings and templates, and the sender's cap counter for this customer.
    pub async fn send_context(
        &self,
        k: &RecordKey,
        sender: &str,
        now: DateTime<Utc>,
    ) -> Result<SendContext, StoreError> {
        let tpk = format!("T#{}", k.tenant);
        let counter_key = Self::counter_key(&k.tenant, sender, &k.customer);
        let counter_pk = get_s(&counter_key, "PK").unwrap_or_default();
        let items = self
            .batch_get(vec![
                key(k.pk(), k.sk()),
                key(tpk.clone(), "SETTINGS"),
                key(tpk.clone(), "TEMPLATES"),
                counter_key,
            ])
            .await?;
        let mut ctx = SendContext::default();
        for it in &items {
            let (pk, sk) = (
                get_s(it, "PK").unwrap_or_default(),
                get_s(it, "SK").unwrap_or_default(),
            );
            if pk == k.pk() && sk == k.sk() {
                ctx.record = Some(record_of(it)?).filter(|r| r.is_live(now));
            } else if pk == tpk && sk == "SETTINGS" {
                ctx.settings = Some(Self::doc_of(it)?);
            } else if pk == tpk && sk == "TEMPLATES" {
                ctx.templates = Some(Self::doc_of(it)?);
            } else if pk == counter_pk {
                ctx.counter = Some(Self::counter_of(it));
            }
        }
        ctx.counter.get_or_insert_with(Counter::default);
        Ok(ctx)
    }

    // ------------------------------------------------------------------ the cap

    fn counter_key(tenant: &str, agent: &str, customer: &str) -> Item {
        key(format!("Q#{tenant}#{agent}#{customer}"), "Q")
    }

    fn counter_of(item: &Item) -> Counter {
        let sends = item
            .get("sends")
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_s().ok())
                    .filter_map(|e| {
                        let (ms, token) = e.split_once('#')?;
                        Some((
                            Utc.timestamp_millis_opt(ms.parse().ok()?).single()?,
                            token.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Counter {
            sends,
            version: get_n(item, "ver").unwrap_or(0),
        }
    }

    pub async fn read_counter(
        &self,
        tenant: &str,
        agent: &str,
        customer: &str,
    ) -> Result<Counter, StoreError> {
        Ok(self
            .get(Self::counter_key(tenant, agent, customer))
            .await?
            .map(|i| Self::counter_of(&i))
            .unwrap_or_default())
    }

    /// Quotas of many (agent, customer) pairs of one tenant in one batch read.
    pub async fn quotas(
        &self,
        tenant: &str,
        pairs: &[(String, String)],
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<HashMap<(String, String), Quota>, StoreError> {
        let keys = pairs
            .iter()
            .map(|(a, c)| Self::counter_key(tenant, a, c))
            .collect();
        let items = self.batch_get(keys).await?;
        let mut found: HashMap<String, Counter> = HashMap::new();
        for it in &items {
            found.insert(get_s(it, "PK").unwrap_or_default(), Self::counter_of(it));
        }
        Ok(pairs
            .iter()
            .map(|(a, c)| {
                let times = found
                    .get(&format!("Q#{tenant}#{a}#{c}"))
                    .map(Counter::times)
                    .unwrap_or_default();
                ((a.clone(), c.clone()), cap::quota(&times, now, limit))
            })
            .collect())
    }

    async fn write_counter(
        &self,
        k: Item,
        sends: &[(DateTime<Utc>, String)],
        expected: i64,
    ) -> Result<bool, StoreError> {
        let list: Vec<AttributeValue> = sends
            .iter()
            .map(|(t, tok)| s(format!("{}#{tok}", t.timestamp_millis())))
            .collect();
        let newest = sends.iter().map(|(t, _)| *t).max().unwrap_or_else(Utc::now);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(k))
            .update_expression("SET sends = :s, ver = :next, expiresAt = :exp")
            .condition_expression("attribute_not_exists(ver) OR ver = :ver")
            .expression_attribute_values(":s", AttributeValue::L(list))
            .expression_attribute_values(":next", n(expected + 1))
            .expression_attribute_values(":ver", n(expected))
            .expression_attribute_values(
                ":exp",
                n((newest + cap::window() + Duration::hours(1)).timestamp()),
            )
            .send()
            .await;
        applied(res)
    }

    /// Takes one slot of the cap atomically: a conditional write on the counter's
    /// version, retried on conflict. `known` is a counter already read (to save a
    /// round trip); `Err(quota)` when the cap is reached.
    pub async fn reserve(
        &self,
        tenant: &str,
        agent: &str,
        customer: &str,
        limit: u32,
        now: DateTime<Utc>,
        known: Option<Counter>,
    ) -> Result<Result<Slot, Quota>, StoreError> {
        let k = Self::counter_key(tenant, agent, customer);
        let mut counter = match known {
            Some(c) => c,
            None => self.read_counter(tenant, agent, customer).await?,
        };
        for attempt in 0..64 {
            let q = cap::quota(&counter.times(), now, limit);
            if !q.allows_one_more() {
                return Ok(Err(q));
            }
            let token = uuid::Uuid::new_v4().simple().to_string();
            let mut sends: Vec<(DateTime<Utc>, String)> = counter
                .sends
                .iter()
                .filter(|(t, _)| *t + cap::window() > now)
                .cloned()
                .collect();
            sends.push((now, token.clone()));
            if self
                .write_counter(k.clone(), &sends, counter.version)
                .await?
            {
                let quota_after = cap::quota(
                    &sends.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
                    now,
                    limit,
                );
                return Ok(Ok(Slot { token, quota_after }));
            }
            if attempt > 4 {
                tokio::time::sleep(StdDuration::from_millis(5 + (attempt as u64 % 8) * 7)).await;
            }
            counter = self.read_counter(tenant, agent, customer).await?;
        }
        Err(StoreError::Contention("the cap counter".into()))
    }

    /// Gives a slot back after a send that did not go out.
    pub async fn release(
        &self,
        tenant: &str,
        agent: &str,
        customer: &str,
        token: &str,
    ) -> Result<(), StoreError> {
        let k = Self::counter_key(tenant, agent, customer);
        for _ in 0..64 {
            let counter = self.read_counter(tenant, agent, customer).await?;
            if !counter.sends.iter().any(|(_, t)| t == token) {
                return Ok(());
            }
            let sends: Vec<_> = counter
                .sends
                .iter()
                .filter(|(_, t)| t != token)
                .cloned()
                .collect();
            if self
                .write_counter(k.clone(), &sends, counter.version)
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError::Contention("the cap counter".into()))
    }

    // ------------------------------------------------------------------ idempotency

    pub fn idempotency_pk(tenant: &str, agent: &str, key: &str) -> String {
        format!("I#{tenant}#{agent}#{key}")
    }

    /// Claims an idempotency key (Powertools style): a conditional put that wins
    /// when the key is new or expired; otherwise what the earlier request left.
    pub async fn claim_idempotency(
        &self,
        pk: &str,
        body_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyClaim, StoreError> {
        let mut item = key(pk, "I");
        item.insert("bodyHash".into(), s(body_hash));
        item.insert("idemState".into(), s("in_progress"));
        item.insert(
            "expiresAt".into(),
            n((now + Duration::hours(IDEMPOTENCY_HOURS)).timestamp()),
        );
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR expiresAt < :now")
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        if applied(res)? {
            return Ok(IdempotencyClaim::Claimed);
        }
        let Some(old) = self.get(key(pk, "I")).await? else {
            return Ok(IdempotencyClaim::InProgress);
        };
        if get_s(&old, "bodyHash").as_deref() != Some(body_hash) {
            return Ok(IdempotencyClaim::Mismatch);
        }
        match (
            get_s(&old, "idemState").as_deref(),
            get_n(&old, "statusCode"),
            get_s(&old, "resultJson"),
        ) {
            (Some("done"), Some(status), Some(body)) => Ok(IdempotencyClaim::Done {
                status: status as u16,
                body,
            }),
            _ => Ok(IdempotencyClaim::InProgress),
        }
    }

    /// Stores the final response of a request that ended without a send (a refusal).
    pub async fn complete_idempotency(
        &self,
        pk: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, "I")))
            .update_expression("SET idemState = :done, statusCode = :sc, resultJson = :r")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":sc", n(i64::from(status)))
            .expression_attribute_values(":r", s(body))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(())
    }

    /// Frees a key whose request failed in a way worth retrying.
    pub async fn drop_idempotency(&self, pk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, "I")))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(())
    }

    /// Raw access for tests and tools.
    pub async fn raw_item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        self.get(key(pk, sk)).await
    }
}

fn is_condition_cancel<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: std::fmt::Debug + ProvideCancel,
{
    e.as_service_error().is_some_and(|x| x.conditional_cancel())
}

/// Whether a transaction was cancelled by a failed condition.
pub trait ProvideCancel {
    fn conditional_cancel(&self) -> bool;
}

impl ProvideCancel for aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError {
    fn conditional_cancel(&self) -> bool {
        match self {
            Self::TransactionCanceledException(t) => t
                .cancellation_reasons()
                .iter()
                .any(|r| r.code() == Some("ConditionalCheckFailed")),
            _ => false,
        }
    }
}

/// Service errors that can say "the condition was not met".
pub trait ConditionFailed {
    fn condition_failed(&self) -> bool;
}

impl ConditionFailed for aws_sdk_dynamodb::operation::update_item::UpdateItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionFailed for aws_sdk_dynamodb::operation::put_item::PutItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

/// `Ok(true)` when a conditional write applied, `Ok(false)` when its condition
/// was not met, an error for anything else.
fn applied<T, E>(
    r: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
) -> Result<bool, StoreError>
where
    E: ConditionFailed + std::error::Error + 'static,
{
    match r {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(ConditionFailed::condition_failed) =>
        {
            Ok(false)
        }
        Err(e) => Err(dynamo(e)),
    }
}

fn ignore_condition<T>(
    r: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        >,
    >,
) -> Result<(), StoreError> {
    applied(r).map(|_| ())
}

/// Reads a contact record item.
pub fn record_of(item: &Item) -> Result<ContactRecord, StoreError> {
    let need = |k: &str| {
        get_s(item, k).ok_or_else(|| StoreError::Malformed(format!("record without {k}")))
    };
    let key = RecordKey {
        tenant: need("tenantId")?,
        agent: need("agentId")?,
        customer: need("customerId")?,
        period: get_n(item, "periodStart").unwrap_or(0),
    };
    let delivery = get_s(item, "deliveryStatus").map(|status| Delivery {
        status,
        at: ts(get_n(item, "deliveryAt").unwrap_or(0)),
        error: get_n(item, "deliveryErrorCode")
            .map(|c| (c, get_s(item, "deliveryErrorTitle").unwrap_or_default())),
    });
    Ok(ContactRecord {
        key,
        channel: get_s(item, "channelId").unwrap_or_default(),
        wa_id: get_s(item, "waId"),
        user_id: get_s(item, "userId"),
        name: get_s(item, "profileName"),
        first_at: ts(get_n(item, "firstAt").unwrap_or(0)),
        last_at: ts(get_n(item, "lastAt").unwrap_or(0)),
        message_count: get_n(item, "msgCount").unwrap_or(0),
        expires_at: ts(get_n(item, "expiresAt").unwrap_or(0)),
        requested_callback: get_s(item, "requestedCallback").unwrap_or_else(|| "n/a".into()),
        prompt_wamid: get_s(item, "promptWamid"),
        message_sent: get_bool(item, "messageSent").unwrap_or(false),
        sent_by: get_s(item, "sentBy"),
        sent_at: get_n(item, "sentAt").map(ts),
        sent_template: get_s(item, "sentTemplate")
            .map(|t| (t, get_s(item, "sentLanguage").unwrap_or_default())),
        sent_wamid: get_s(item, "sentWamid"),
        delivery,
    })
}
