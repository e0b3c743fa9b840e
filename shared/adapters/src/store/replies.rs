//! What the webhook writes for the messages this system sent: the prompt's
//! bookkeeping, the customer's Yes/No on it, and delivery statuses.

use afterhours_rules::callback::RequestedCallback;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::client::{applied, number_value, string_value, Item, Store, StoreError};
use super::ingest::{callback, expiry};
use super::item::{parse, Pointer, PointerItem};
use super::keys;
use crate::model::{DeliveryUpdate, PointerKind, RecordKey, Tap, TapOutcome};

impl Store {
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
