//! What the webhook writes: inbound messages into records (deduplicated by
//! `wamid`), the prompt's bookkeeping, the customer's Yes/No, and delivery
//! statuses of the messages this system sent.

use std::collections::HashMap;

use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::RETENTION_DAYS;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};

use super::item::{parse, Pointer};
use super::{applied, dynamo, key, n, s, Item, Store, StoreError};
use crate::model::{DeliveryUpdate, Inbound, IngestOutcome, PointerKind, RecordKey};

/// A pending callback's sort key in the pending index and the LSI: first contact, then identity.
pub(super) fn order_key(first_at: DateTime<Utc>, k: &RecordKey) -> String {
    format!(
        "{:012}#{}#{}#{}",
        first_at.timestamp(),
        k.agent,
        k.customer,
        k.period
    )
}

fn expiry(at: DateTime<Utc>, extra_days: i64) -> AttributeValue {
    n(at.timestamp() + Duration::days(RETENTION_DAYS + extra_days).num_seconds())
}

fn callback(v: RequestedCallback) -> AttributeValue {
    s(v.as_str())
}

/// The attributes an inbound message may change on its record, before what
/// the customer's profile adds (`SET` clauses and their values).
fn inbound_update(m: &Inbound) -> (Vec<&'static str>, Item) {
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
        (":at".into(), n(m.at.timestamp())),
        (":lsk".into(), s(order_key(m.at, &m.key))),
        (":exp".into(), expiry(m.at, 0)),
        (":na".into(), callback(RequestedCallback::NotAsked)),
        (":false".into(), AttributeValue::Bool(false)),
        (":wamid".into(), s(&m.wamid)),
        (":wamids".into(), AttributeValue::Ss(vec![m.wamid.clone()])),
        (":one".into(), n(1)),
    ]);
    for (clause, name, value) in [
        ("waId = :wa", ":wa", &m.wa_id),
        ("userId = :uid", ":uid", &m.user_id),
        ("profileName = :name", ":name", &m.name),
    ] {
        if let Some(v) = value {
            set.push(clause);
            values.insert(name.into(), s(v));
        }
    }
    (set, values)
}

impl Store {
    /// Records one inbound message outside hours: one conditional update that
    /// creates the record or adds to it, refused when this `wamid` was already
    /// counted. A message older than what is stored (out of order) costs one
    /// more write to keep first/last times right.
    pub async fn record_inbound(&self, m: &Inbound) -> Result<IngestOutcome, StoreError> {
        let (set, values) = inbound_update(m);
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
        let old = match res.map_err(dynamo) {
            Ok(out) => out.attributes.filter(|a| !a.is_empty()),
            Err(e) if e.is_condition_failed() => return Ok(IngestOutcome::Duplicate),
            Err(e) => return Err(e),
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
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Times {
            first_at: i64,
            last_at: i64,
            profile_name: Option<String>,
        }
        let old: Times = parse(old)?;
        let at = m.at.timestamp();
        let k = key(m.key.pk(), m.key.sk());
        if old.last_at > at {
            let mut set = vec!["lastAt = :old"];
            let mut values: Item =
                HashMap::from([(":old".into(), n(old.last_at)), (":at".into(), n(at))]);
            if let Some(name) = old.profile_name {
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
            applied(r)?;
        }
        if old.first_at > at {
            let r = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(k))
                .update_expression("SET firstAt = :at, LSK = :lsk, expiresAt = :exp")
                .condition_expression("firstAt > :at")
                .expression_attribute_values(":at", n(at))
                .expression_attribute_values(":lsk", s(order_key(m.at, &m.key)))
                .expression_attribute_values(":exp", expiry(m.at, 0))
                .send()
                .await;
            applied(r)?;
        }
        Ok(())
    }

    /// The pointer from a message this system sent (`W#{wamid}`) to its record.
    pub(super) fn pointer_put(
        &self,
        wamid: &str,
        k: &RecordKey,
        kind: PointerKind,
        at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key(format!("W#{wamid}"), "W");
        item.insert("tenantId".into(), s(&k.tenant));
        item.insert("recordPK".into(), s(k.pk()));
        item.insert("recordSK".into(), s(k.sk()));
        item.insert("pointerKind".into(), s(kind.as_str()));
        item.insert("expiresAt".into(), expiry(at, 1));
        self.plain_put(item)
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
            .expression_attribute_values(":pending", callback(RequestedCallback::Pending))
            .expression_attribute_values(":na", callback(RequestedCallback::NotAsked))
            .expression_attribute_values(":w", s(wamid))
            .build()
            .map_err(StoreError::build)?;
        let res = self
            .transact(vec![
                TransactWriteItem::builder().update(update).build(),
                self.pointer_put(wamid, k, PointerKind::Prompt, at)?,
            ])
            .await;
        match res {
            Err(e) if e.is_condition_failed() => Ok(()),
            other => other,
        }
    }

    /// Where a message this system sent leads, when it is of this tenant and kind.
    async fn pointer(
        &self,
        tenant: &str,
        wamid: &str,
        kind: PointerKind,
    ) -> Result<Option<Pointer>, StoreError> {
        let Some(item) = self.get(key(format!("W#{wamid}"), "W")).await? else {
            return Ok(None);
        };
        let p: Pointer = parse(&item)?;
        Ok(Some(p).filter(|p| p.tenant == tenant && p.kind == kind))
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
        let Some(p) = self
            .pointer(tenant, prompt_wamid, PointerKind::Prompt)
            .await?
        else {
            return Ok(false);
        };
        let attempt = |with_index: bool| {
            let req = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(p.record_pk.clone(), p.record_sk.clone())))
                .expression_attribute_values(":ans", callback(RequestedCallback::answer(yes)))
                .expression_attribute_values(":at", n(at.timestamp()))
                .expression_attribute_values(":w", s(prompt_wamid));
            let base = "attribute_exists(PK) AND promptWamid = :w AND (attribute_not_exists(callbackAt) OR callbackAt < :at)";
            let req = if with_index {
                req.update_expression(
                    "SET requestedCallback = :ans, callbackAt = :at, GSI1PK = :g, GSI1SK = LSK",
                )
                .condition_expression(format!("{base} AND messageSent = :false"))
                .expression_attribute_values(":g", s(format!("T#{tenant}")))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
            } else {
                req.update_expression(
                    "SET requestedCallback = :ans, callbackAt = :at REMOVE GSI1PK, GSI1SK",
                )
                .condition_expression(base)
            };
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
    /// `None` when no active message of this tenant has this `wamid` (yet).
    pub async fn update_delivery(
        &self,
        u: &DeliveryUpdate<'_>,
    ) -> Result<Option<bool>, StoreError> {
        let Some(p) = self.pointer(u.tenant, u.wamid, PointerKind::Active).await? else {
            return Ok(None);
        };
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(p.record_pk, p.record_sk)))
            .condition_expression("attribute_exists(PK) AND sentWamid = :w AND (attribute_not_exists(deliveryRank) OR deliveryRank < :r)")
            .expression_attribute_values(":w", s(u.wamid))
            .expression_attribute_values(":r", n(i64::from(u.status.rank())))
            .expression_attribute_values(":st", s(u.status.as_str()))
            .expression_attribute_values(":at", n(u.at.timestamp()));
        req = match &u.error {
            Some(e) => req
                .update_expression("SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :r, deliveryErrorCode = :ec, deliveryErrorTitle = :et")
                .expression_attribute_values(":ec", n(e.code))
                .expression_attribute_values(":et", s(&e.title)),
            None => req.update_expression("SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :r"),
        };
        applied(req.send().await).map(Some)
    }
}
