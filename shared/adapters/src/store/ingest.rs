//! What the webhook writes: inbound messages into records (deduplicated by
//! `wamid`), the prompt's bookkeeping, the customer's Yes/No, and delivery
//! statuses of the messages this system sent.

use std::collections::HashMap;

use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::RETENTION_DAYS;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Duration, Utc};

use super::client::{
    applied, failed_condition, number_value, string_value, Item, Store, StoreError, Transaction,
};
use super::item::{parse, whole, ClaimItem, Pointer, PointerItem};
use super::keys;
use crate::model::{
    DeliveryUpdate, Inbound, IngestOutcome, PointerKind, RecordKey, Tap, TapOutcome,
};

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

fn expiry_secs(at: DateTime<Utc>, extra_days: i64) -> i64 {
    at.timestamp() + Duration::days(RETENTION_DAYS + extra_days).num_seconds()
}

fn expiry(at: DateTime<Utc>, extra_days: i64) -> AttributeValue {
    number_value(expiry_secs(at, extra_days))
}

fn callback(v: RequestedCallback) -> AttributeValue {
    string_value(v.as_str())
}

/// The `SET` clauses and values of what a message says about its customer.
fn customer_fields(m: &Inbound, set: &mut Vec<&'static str>, values: &mut Item) {
    for (clause, name, value) in [
        ("waId = :wa", ":wa", &m.wa_id),
        ("userId = :uid", ":uid", &m.user_id),
        ("profileName = :name", ":name", &m.name),
    ] {
        if let Some(v) = value {
            set.push(clause);
            values.insert(name.into(), string_value(v));
        }
    }
}

/// How long a message's `wamid` is remembered: Meta retries for up to 7 days.
const DEDUP_DAYS: i64 = RETENTION_DAYS + 1;
/// How often recording one message may meet a concurrent change of its record.
const INGEST_ATTEMPTS: usize = 10;

/// Where a message falls in its record, as the last attempt found it. The
/// three cases for an existing record are exclusive and each write's
/// condition checks its own, so a concurrent change only sends it round again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The record's newest message (the common case).
    Add,
    /// No record yet: this message opens it.
    Create,
    /// Between the record's first and last message (delivered out of order).
    Middle,
    /// Before the record's first message: the first contact moves back.
    Earliest,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Times {
    first_at: i64,
    last_at: i64,
}

impl Step {
    /// The step a stored record calls for.
    fn after(m: &Inbound, old: &Item) -> Result<Step, StoreError> {
        let t: Times = parse(old)?;
        let at = m.at.timestamp();
        Ok(if t.last_at <= at {
            Step::Add
        } else if t.first_at <= at {
            Step::Middle
        } else {
            Step::Earliest
        })
    }
}

impl Store {
    /// Records one inbound message outside hours, in one transaction with the
    /// message's `wamid` claimed for its channel: a delivery seen before
    /// changes nothing, whatever record it would name today (the customer's
    /// agent or the settings may have changed since). The common case (a
    /// later message of a recorded night) is one transaction; a message that
    /// opens a record or arrives out of order costs one more.
    pub async fn record_inbound(&self, m: &Inbound) -> Result<IngestOutcome, StoreError> {
        let mut step = Step::Add;
        let mut create_failed = false;
        for _ in 0..INGEST_ATTEMPTS {
            let record = match step {
                Step::Add => self.add_update(m)?,
                Step::Create => self.create_update(m)?,
                Step::Middle | Step::Earliest => self.reorder_update(m, step)?,
            };
            let mut items = vec![self.dedup_put(m)?, record];
            if step == Step::Create {
                items.push(self.agent_seen(&m.key.tenant, &m.key.agent, expiry_secs(m.at, 0))?);
            }
            let reasons = match self.transact_or_reasons(items).await? {
                Transaction::Applied if step == Step::Create => return Ok(IngestOutcome::Created),
                Transaction::Applied => return Ok(IngestOutcome::Added),
                Transaction::Refused(reasons) if failed_condition(&reasons, 0) => {
                    return Ok(IngestOutcome::Duplicate)
                }
                Transaction::Refused(reasons) => reasons,
            };
            step = match (step, reasons.get(1).and_then(|r| r.item())) {
                // Opened by a concurrent delivery in between.
                (Step::Create, _) => {
                    create_failed = true;
                    Step::Add
                }
                (_, Some(old)) => Step::after(m, old)?,
                (_, None) if !create_failed => Step::Create,
                // A service that did not return the item: read it.
                (_, None) => match self.get_consistent(keys::record(&m.key)).await? {
                    Some(old) => Step::after(m, &old)?,
                    None => Step::Create,
                },
            };
        }
        Err(StoreError::Contention("a contact record".into()))
    }

    /// The claim of a message's `wamid` on its channel (kept while Meta may retry it).
    fn dedup_put(&self, m: &Inbound) -> Result<TransactWriteItem, StoreError> {
        let item = whole(
            keys::message_claim(&m.channel, &m.wamid),
            &ClaimItem {
                expires_at: m.at.timestamp() + Duration::days(DEDUP_DAYS).num_seconds(),
            },
        )?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn record_update(
        &self,
        m: &Inbound,
        expression: String,
        condition: &str,
        values: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::record(&m.key)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The newest message of a recorded night: one more, the last time and name.
    fn add_update(&self, m: &Inbound) -> Result<TransactWriteItem, StoreError> {
        let mut set = vec!["lastAt = :at", "channelId = :channel"];
        let mut values: Item = HashMap::from([
            (":at".into(), number_value(m.at.timestamp())),
            (":channel".into(), string_value(&m.channel)),
            (":one".into(), number_value(1)),
        ]);
        customer_fields(m, &mut set, &mut values);
        let expression = format!("SET {} ADD msgCount :one", set.join(", "));
        self.record_update(
            m,
            expression,
            "attribute_exists(PK) AND lastAt <= :at",
            values,
        )
    }

    /// The first message of a night: the record, ordered by its first contact.
    fn create_update(&self, m: &Inbound) -> Result<TransactWriteItem, StoreError> {
        let mut set = vec![
            "tenantId = :tenant",
            "agentId = :agent",
            "customerId = :customer",
            "periodStart = :period",
            "channelId = :channel",
            "firstAt = :at",
            "lastAt = :at",
            "LSK = :lsk",
            "expiresAt = :exp",
            "requestedCallback = :na",
            "messageSent = :false",
            "msgCount = :one",
        ];
        let mut values: Item = HashMap::from([
            (":tenant".into(), string_value(&m.key.tenant)),
            (":agent".into(), string_value(&m.key.agent)),
            (":customer".into(), string_value(&m.key.customer)),
            (":period".into(), number_value(m.key.period)),
            (":channel".into(), string_value(&m.channel)),
            (":at".into(), number_value(m.at.timestamp())),
            (":lsk".into(), string_value(order_key(m.at, &m.key))),
            (":exp".into(), expiry(m.at, 0)),
            (":na".into(), callback(RequestedCallback::NotAsked)),
            (":false".into(), AttributeValue::Bool(false)),
            (":one".into(), number_value(1)),
        ]);
        customer_fields(m, &mut set, &mut values);
        let expression = format!("SET {}", set.join(", "));
        self.record_update(m, expression, "attribute_not_exists(PK)", values)
    }

    /// A message older than the record's newest: counted, its name only when
    /// the record has none, and the first contact moved back when it is earlier.
    fn reorder_update(&self, m: &Inbound, step: Step) -> Result<TransactWriteItem, StoreError> {
        let mut set = vec!["channelId = :channel"];
        let mut values: Item = HashMap::from([
            (":channel".into(), string_value(&m.channel)),
            (":one".into(), number_value(1)),
            (":at".into(), number_value(m.at.timestamp())),
        ]);
        let condition = if step == Step::Earliest {
            set.extend(["firstAt = :at", "LSK = :lsk", "expiresAt = :exp"]);
            values.insert(":lsk".into(), string_value(order_key(m.at, &m.key)));
            values.insert(":exp".into(), expiry(m.at, 0));
            "attribute_exists(PK) AND firstAt > :at"
        } else {
            "attribute_exists(PK) AND lastAt > :at AND firstAt <= :at"
        };
        let unnamed = Inbound {
            name: None,
            ..m.clone()
        };
        customer_fields(&unnamed, &mut set, &mut values);
        if let Some(name) = &m.name {
            set.push("profileName = if_not_exists(profileName, :name)");
            values.insert(":name".into(), string_value(name));
        }
        let expression = format!("SET {} ADD msgCount :one", set.join(", "));
        self.record_update(m, expression, condition, values)
    }

    /// The pointer from a message this system sent (`W#{wamid}`) to its record:
    /// an update, so that a tap parked there before it existed stays.
    pub(super) fn pointer_put(
        &self,
        wamid: &str,
        k: &RecordKey,
        kind: PointerKind,
        at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::pointer(wamid)))
            .update_expression(
                "SET tenantId = :t, recordPK = :pk, recordSK = :sk, pointerKind = :kind, expiresAt = :exp",
            )
            .expression_attribute_values(":t", string_value(&k.tenant))
            .expression_attribute_values(":pk", string_value(keys::agent_partition(&k.tenant, &k.agent)))
            .expression_attribute_values(":sk", string_value(keys::record_sk(k)))
            .expression_attribute_values(":kind", string_value(kind.as_str()))
            .expression_attribute_values(":exp", expiry(at, 1))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The prompt went out: the record waits for the customer's answer. One
    /// transaction (the record and the pointer from the prompt's `wamid`).
    /// `Ok(false)` when it was recorded before.
    pub async fn mark_prompt_sent(
        &self,
        k: &RecordKey,
        wamid: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::record(k)))
            .update_expression("SET requestedCallback = :pending, promptWamid = :w")
            .condition_expression("attribute_exists(PK) AND requestedCallback = :na")
            .expression_attribute_values(":pending", callback(RequestedCallback::Pending))
            .expression_attribute_values(":na", callback(RequestedCallback::NotAsked))
            .expression_attribute_values(":w", string_value(wamid))
            .build()
            .map_err(StoreError::build)?;
        let res = self
            .transact(vec![
                TransactWriteItem::builder().update(update).build(),
                self.pointer_put(wamid, k, PointerKind::Prompt, at)?,
            ])
            .await;
        match res {
            Ok(()) => Ok(true),
            Err(e) if e.is_condition_failed() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The prompt's bookkeeping completed from one of its statuses (found
    /// through the record named in its `biz_opaque_callback_data`), when the
    /// webhook that sent it stopped before storing it; a tap of the record's
    /// own customer that came in the meantime and was parked is applied now
    /// (anyone else's parked tap never is). Returns whether it changed.
    pub async fn complete_prompt(
        &self,
        k: &RecordKey,
        wamid: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if !self.mark_prompt_sent(k, wamid, at).await? {
            return Ok(false);
        }
        let parked = self
            .get_consistent(keys::pointer(wamid))
            .await?
            .and_then(|item| parked_tap(&item, &k.customer));
        if let Some((yes, at)) = parked {
            self.answer_callback(&Tap {
                tenant: &k.tenant,
                customer: &k.customer,
                prompt_wamid: wamid,
                yes,
                at,
            })
            .await?;
        }
        Ok(true)
    }

    /// Where a message this system sent leads, when it is of this tenant.
    async fn pointer(&self, tenant: &str, wamid: &str) -> Result<Option<Pointer>, StoreError> {
        let Some(item) = self.get(keys::pointer(wamid)).await? else {
            return Ok(None);
        };
        Ok(parse::<PointerItem>(&item)?
            .pointer()
            .filter(|p| p.tenant == tenant))
    }

    /// A tap on a prompt whose bookkeeping is not stored (yet): kept on the
    /// pointer's item, under the customer who tapped, until
    /// [`Store::complete_prompt`] finds it. Only a newer tap of the same
    /// customer replaces it, so nobody else's tap can take its place.
    async fn park_answer(&self, t: &Tap<'_>) -> Result<bool, StoreError> {
        let (answer, when) = parked_names(t.customer);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::pointer(t.prompt_wamid)))
            .update_expression(
                "SET tenantId = if_not_exists(tenantId, :t), #ans = :ans, #at = :at, expiresAt = :exp",
            )
            .condition_expression(
                "attribute_not_exists(recordPK) AND (attribute_not_exists(#at) OR #at < :at)",
            )
            .expression_attribute_names("#ans", answer)
            .expression_attribute_names("#at", when)
            .expression_attribute_values(":t", string_value(t.tenant))
            .expression_attribute_values(":ans", callback(RequestedCallback::answer(t.yes)))
            .expression_attribute_values(":at", number_value(t.at.timestamp()))
            .expression_attribute_values(":exp", expiry(t.at, 1))
            .send()
            .await;
        applied(res)
    }

    /// The customer tapped Yes or No on the prompt they were sent. Only a
    /// newer tap changes the answer, so a redelivered tap changes nothing; a
    /// tap quoting a prompt that went to another customer changes nothing
    /// ([`TapOutcome::Foreign`]). A pending `yes` puts the record in the
    /// pending-callback index; anything else takes it out.
    pub async fn answer_callback(&self, t: &Tap<'_>) -> Result<TapOutcome, StoreError> {
        let Some(p) = self.tapped_prompt(t).await? else {
            return Ok(TapOutcome::Unchanged);
        };
        if customer_of_sk(&p.record_sk) != Some(t.customer) {
            return Ok(TapOutcome::Foreign);
        }
        let attempt = |with_index: bool| {
            let req = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(keys::pointed(
                    p.record_pk.clone(),
                    p.record_sk.clone(),
                )))
                .expression_attribute_values(":ans", callback(RequestedCallback::answer(t.yes)))
                .expression_attribute_values(":at", number_value(t.at.timestamp()))
                .expression_attribute_values(":w", string_value(t.prompt_wamid))
                .expression_attribute_values(":c", string_value(t.customer));
            let base = "attribute_exists(PK) AND promptWamid = :w AND customerId = :c \
                        AND (attribute_not_exists(callbackAt) OR callbackAt < :at)";
            let req = if with_index {
                req.update_expression(
                    "SET requestedCallback = :ans, callbackAt = :at, GSI1PK = :g, GSI1SK = LSK",
                )
                .condition_expression(format!(
                    "{base} AND messageSent = :false AND attribute_not_exists(handledAt)"
                ))
                .expression_attribute_values(":g", string_value(keys::tenant_pk(t.tenant)))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
            } else {
                req.update_expression(
                    "SET requestedCallback = :ans, callbackAt = :at REMOVE GSI1PK, GSI1SK",
                )
                .condition_expression(base)
            };
            req.send()
        };
        let answered = (t.yes && applied(attempt(true).await)?)
            // A `no`, or a `yes` on a record already answered by an active message.
            || applied(attempt(false).await)?;
        Ok(if answered {
            TapOutcome::Answered
        } else {
            TapOutcome::Unchanged
        })
    }

    /// The prompt a tap quotes, by its pointer. Without one (the prompt's
    /// bookkeeping is not stored yet), the tap is parked for when the prompt's
    /// status brings it, and there is nothing to answer now.
    async fn tapped_prompt(&self, t: &Tap<'_>) -> Result<Option<Pointer>, StoreError> {
        match self.pointer(t.tenant, t.prompt_wamid).await? {
            Some(p) => return Ok(Some(p).filter(|p| p.kind == PointerKind::Prompt)),
            None if self.park_answer(t).await? => {
                tracing::warn!("a tap on a prompt without bookkeeping; parked until its status");
                return Ok(None);
            }
            None => {}
        }
        // The pointer appeared in between (or a newer tap is parked).
        Ok(self
            .pointer(t.tenant, t.prompt_wamid)
            .await?
            .filter(|p| p.kind == PointerKind::Prompt))
    }

    /// A delivery status for a message this system sent. Statuses never move a
    /// record backwards and only the record's latest active message counts.
    /// `None` when no message of this tenant has this `wamid` (yet); a
    /// prompt's status changes nothing on the record (`Some(false)`).
    pub async fn update_delivery(
        &self,
        u: &DeliveryUpdate<'_>,
    ) -> Result<Option<bool>, StoreError> {
        let p = match self.pointer(u.tenant, u.wamid).await? {
            Some(p) if matches!(p.kind, PointerKind::Active | PointerKind::Direct) => p,
            Some(_) => return Ok(Some(false)),
            None => return Ok(None),
        };
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::pointed(p.record_pk, p.record_sk)))
            .condition_expression("attribute_exists(PK) AND sentWamid = :w AND (attribute_not_exists(deliveryRank) OR deliveryRank < :r)")
            .expression_attribute_values(":w", string_value(u.wamid))
            .expression_attribute_values(":r", number_value(i64::from(u.status.rank())))
            .expression_attribute_values(":st", string_value(u.status.as_str()))
            .expression_attribute_values(":at", number_value(u.at.timestamp()));
        req = match &u.error {
            Some(e) => req
                .update_expression("SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :r, deliveryErrorCode = :ec, deliveryErrorTitle = :et")
                .expression_attribute_values(":ec", number_value(e.code))
                .expression_attribute_values(":et", string_value(&e.title)),
            None => req.update_expression("SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :r"),
        };
        applied(req.send().await).map(Some)
    }
}

/// The customer a record's sort key (`C#{customer}#{period}`) names.
fn customer_of_sk(sk: &str) -> Option<&str> {
    sk.strip_prefix("C#")?.rsplit_once('#').map(|(c, _)| c)
}

/// The attributes a customer's parked tap is kept in on a prompt's pointer item.
fn parked_names(customer: &str) -> (String, String) {
    (
        format!("parkedAnswer_{customer}"),
        format!("parkedAt_{customer}"),
    )
}

/// The tap `customer` parked on a pointer item: yes or no, and when.
fn parked_tap(item: &Item, customer: &str) -> Option<(bool, DateTime<Utc>)> {
    use chrono::TimeZone;
    let (answer, when) = parked_names(customer);
    // Written by `park_answer` as `RequestedCallback::answer(yes)`.
    let yes = match RequestedCallback::parse(item.get(&answer)?.as_s().ok()?)? {
        RequestedCallback::Yes => true,
        RequestedCallback::No => false,
        _ => return None,
    };
    let secs: i64 = item.get(&when)?.as_n().ok()?.parse().ok()?;
    Some((yes, Utc.timestamp_opt(secs, 0).single()?))
}
