//! What the desk reads: one record, a page of an agent's records, a tenant's
//! pending callbacks, and everything a send needs in one read.

use std::collections::HashMap;

use afterhours_rules::callback::RequestedCallback;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::cap::{counter_of, Counter};
use super::ingest::order_key;
use super::item::{channel_of, doc_of, record_of};
use super::keys;
use super::templates::{book_of, TemplateBook};

use super::client::{
    dynamo, number_value, string_value, Item, Store, StoreError, LSI, PENDING_INDEX,
};
use crate::cursor::CursorSigner;
use crate::model::{Channel, ContactRecord, ListOrder, ListQuery, RecordKey, SendTarget};

/// What `send_context` read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendContext {
    pub record: Option<ContactRecord>,
    /// A direct send's channel, when it is the caller's tenant's.
    pub channel: Option<Channel>,
    pub settings: Option<Value>,
    pub templates: TemplateBook,
    pub counter: Option<Counter>,
}

/// A page of `GET /contacts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<ContactRecord>,
    pub next_cursor: Option<String>,
}

/// Where a list read starts: the LSI position (sort key, index key) of the last item shown.
fn position(pk: &str, (sk, lsk): (String, String)) -> Item {
    HashMap::from([
        ("PK".to_string(), string_value(pk)),
        ("SK".to_string(), string_value(sk)),
        ("LSK".to_string(), string_value(lsk)),
    ])
}

/// How many items the first read of a page asks for: unfiltered, exactly the
/// page; filtered, more (each later read doubles it; DynamoDB stops at 1 MB
/// per read in any case).
fn first_read(q: &ListQuery<'_>) -> i32 {
    if q.filter.is_empty() {
        q.limit
    } else {
        q.limit.saturating_mul(4).max(100)
    }
}

/// The list's filter expression and values: live records, and the query's filters.
fn list_filter(q: &ListQuery<'_>, pk: &str) -> (String, Item) {
    let mut filters = vec!["expiresAt > :now"];
    let mut values: Item = HashMap::from([
        (":pk".into(), string_value(pk)),
        (":now".into(), number_value(q.now.timestamp())),
    ]);
    if let Some(rc) = q.filter.requested_callback {
        filters.push("requestedCallback = :rc");
        values.insert(":rc".into(), string_value(rc.as_str()));
    }
    if let Some(ms) = q.filter.message_sent {
        filters.push("messageSent = :ms");
        values.insert(":ms".into(), AttributeValue::Bool(ms));
    }
    match q.filter.handled {
        Some(true) => filters.push("attribute_exists(handledAt)"),
        Some(false) => filters.push("attribute_not_exists(handledAt)"),
        None => {}
    }
    (filters.join(" AND "), values)
}

impl Store {
    /// One record, `None` when missing or expired (even before TTL deletes it).
    pub async fn get_record(
        &self,
        k: &RecordKey,
        now: DateTime<Utc>,
    ) -> Result<Option<ContactRecord>, StoreError> {
        live_record(self.get(keys::record(k)).await?, now)
    }

    /// One page of an agent's records, by first contact (newest or oldest
    /// first, as the query asks). DynamoDB
    /// filters after reading, so this queries on until the page holds `limit`
    /// items or the agent's partition ends: one Query when nothing is
    /// filtered out, a few for a sparse filter (each read asks for more). A
    /// page that offers a cursor is full; an empty page never offers one.
    pub async fn list_records(
        &self,
        q: &ListQuery<'_>,
        signer: &CursorSigner,
    ) -> Result<Page, StoreError> {
        let pk = keys::agent_partition(q.tenant, q.agent);
        let scope = cursor_scope(q, &pk);
        let mut start = match q.cursor {
            Some(c) => Some(position(
                &pk,
                signer.open(&scope, c).ok_or(StoreError::BadCursor)?,
            )),
            None => None,
        };
        let (filter, values) = list_filter(q, &pk);
        let wanted = usize::try_from(q.limit).unwrap_or(1).max(1);
        let mut read = first_read(q);
        let mut items = Vec::with_capacity(wanted);
        loop {
            let res = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(LSI)
                .key_condition_expression("PK = :pk")
                .filter_expression(&filter)
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(q.order == ListOrder::Oldest)
                .limit(read)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(dynamo)?;
            for it in res.items.unwrap_or_default() {
                items.push(record_of(&it)?);
            }
            if items.len() >= wanted {
                // More may follow unless this read ended the partition with
                // exactly the page; the cursor points at the page's last item.
                let more = items.len() > wanted || res.last_evaluated_key.is_some();
                items.truncate(wanted);
                let next_cursor = items
                    .last()
                    .filter(|_| more)
                    .map(|last| seal_after(signer, &scope, last));
                return Ok(Page { items, next_cursor });
            }
            match res.last_evaluated_key {
                Some(lek) => start = Some(lek),
                None => {
                    return Ok(Page {
                        items,
                        next_cursor: None,
                    })
                }
            }
            read = read.saturating_mul(2).min(1000);
        }
    }

    /// A tenant's pending callbacks (yes, not sent, not handled, not expired), from the sparse
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
                "expiresAt > :now AND requestedCallback = :yes AND messageSent = :false \
                 AND attribute_not_exists(handledAt)",
            )
            .expression_attribute_values(":g", string_value(keys::tenant_pk(tenant)))
            .expression_attribute_values(":now", number_value(now.timestamp()))
            .expression_attribute_values(":yes", string_value(RequestedCallback::Yes.as_str()))
            .expression_attribute_values(":false", AttributeValue::Bool(false));
        self.query_all(q).await?.iter().map(record_of).collect()
    }

    /// A contact record exactly as stored (tests and diagnostics).
    pub async fn raw_record(&self, k: &RecordKey) -> Result<Option<Item>, StoreError> {
        self.get_consistent(keys::record(k)).await
    }

    /// Everything a send needs, in one batch read: the record (if live) or
    /// the channel of a direct send, the tenant's settings and templates, and
    /// the sender's cap counter for this customer.
    pub async fn send_context(
        &self,
        tenant: &str,
        target: &SendTarget,
        sender: &str,
        now: DateTime<Utc>,
    ) -> Result<SendContext, StoreError> {
        let (first_key, customer) = match target {
            SendTarget::Record(k) => (keys::record(k), k.customer.as_str()),
            SendTarget::Direct { channel, customer } => (keys::channel(channel), customer.as_str()),
        };
        let settings_key = keys::settings(tenant);
        let templates_key = keys::templates(tenant);
        let counter_key = keys::counter(tenant, sender, customer);
        // Strongly consistent: the counter read here decides the cap's conditional write.
        let items = self
            .batch_get_consistent(vec![
                first_key.clone(),
                settings_key.clone(),
                templates_key.clone(),
                counter_key.clone(),
            ])
            .await?;
        let same = |it: &Item, k: &Item| ["PK", "SK"].iter().all(|a| it.get(*a) == k.get(*a));
        let mut ctx = SendContext::default();
        for it in &items {
            if same(it, &first_key) {
                match target {
                    SendTarget::Record(_) => {
                        ctx.record = Some(record_of(it)?).filter(|r| r.is_live(now));
                    }
                    SendTarget::Direct { channel, .. } => {
                        ctx.channel =
                            Some(channel_of(channel, it)?).filter(|c| c.tenant_id == tenant);
                    }
                }
            } else if same(it, &settings_key) {
                ctx.settings = Some(doc_of(it)?);
            } else if same(it, &templates_key) {
                ctx.templates = book_of(it)?;
            } else if same(it, &counter_key) {
                ctx.counter = Some(counter_of(it)?);
            }
        }
        ctx.counter.get_or_insert_with(Counter::default);
        Ok(ctx)
    }
}

/// A record item read back, `None` when missing or expired (even before TTL deletes it).
pub(super) fn live_record(
    item: Option<Item>,
    now: DateTime<Utc>,
) -> Result<Option<ContactRecord>, StoreError> {
    match item {
        Some(item) => Ok(Some(record_of(&item)?).filter(|r| r.is_live(now))),
        None => Ok(None),
    }
}

/// The cursor of the page that follows `last`.
fn seal_after(signer: &CursorSigner, scope: &str, last: &ContactRecord) -> String {
    signer.seal(
        scope,
        &keys::record_sk(&last.key),
        &order_key(last.first_at, &last.key),
    )
}

/// What a list cursor is bound to: the agent's partition, the filters and
/// the order, so a cursor of one list cannot page another.
fn cursor_scope(q: &ListQuery<'_>, pk: &str) -> String {
    format!(
        "{pk}|{:?}|{:?}|{:?}|{}",
        q.filter.requested_callback.map(RequestedCallback::as_str),
        q.filter.message_sent,
        q.filter.handled,
        q.order.as_str()
    )
}
