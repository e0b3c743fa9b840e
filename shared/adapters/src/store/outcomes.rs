//! What a send's outcome writes on its record: sent (WhatsApp answered with
//! a `wamid`), unknown (the answer was lost), and the settlement a status with
//! our [`SendTag`](crate::model::SendTag) brings for a send whose answer was lost.
//!
//! `settledSend` names the last send whose outcome is known, so a send is
//! settled once whichever comes first (its answer, or its status), and a late
//! "unknown" never overwrites what a status already told.

use afterhours_rules::webhook::{DeliveryError, DeliveryStatus};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::{applied, key, n, s, Store, StoreError};
use crate::model::{
    PointerKind, RecordKey, SendTag, SentMessage, Settlement, StoredResponse, TemplateRef,
    UnknownSend,
};

/// A send known to have gone out, from its answer or from a status.
#[derive(Clone, Copy)]
struct WentOut<'a> {
    key: &'a RecordKey,
    sender: &'a str,
    send_id: &'a str,
    template: Option<&'a TemplateRef>,
    wamid: &'a str,
    status: DeliveryStatus,
    at: DateTime<Utc>,
}

/// The customer → agent item: who last reached this customer (SPEC §4).
fn customer_agent(tenant: &str, customer: &str, sender: &str, at: DateTime<Utc>) -> super::Item {
    let mut cust = key(format!("T#{tenant}"), format!("CUST#{customer}"));
    cust.insert("agentId".into(), s(sender));
    cust.insert("updatedAt".into(), n(at.timestamp()));
    // Nothing about a customer outlives its purpose (SPEC §8).
    let forget = at + chrono::Duration::days(super::tenants::CUSTOMER_AGENT_DAYS);
    cust.insert("expiresAt".into(), n(forget.timestamp()));
    cust
}

/// Not settled yet by this send.
const NOT_SETTLED: &str =
    "attribute_exists(PK) AND (attribute_not_exists(settledSend) OR settledSend <> :sid)";

impl Store {
    /// The record marked sent by `wamid` (it leaves the pending index), plus the
    /// pointer from the `wamid` for statuses and the customer remembered as the
    /// sender's: the writes every send that went out shares.
    fn sent_writes(&self, w: &WentOut<'_>) -> Result<Vec<TransactWriteItem>, StoreError> {
        let WentOut {
            key: k,
            sender,
            send_id,
            template,
            wamid,
            status,
            at,
        } = *w;
        let mut set = "SET messageSent = :true, sentBy = :by, sentAt = :at, sentWamid = :w, settledSend = :sid, \
                       deliveryStatus = :st, deliveryAt = :at, deliveryRank = :rank"
            .to_string();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(k.pk(), k.sk())))
            .condition_expression(NOT_SETTLED)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":by", s(sender))
            .expression_attribute_values(":at", n(at.timestamp()))
            .expression_attribute_values(":w", s(wamid))
            .expression_attribute_values(":sid", s(send_id))
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":rank", n(i64::from(status.rank())));
        if let Some(t) = template {
            set.push_str(", sentTemplate = :tn, sentLanguage = :tl");
            update = update
                .expression_attribute_values(":tn", s(&t.name))
                .expression_attribute_values(":tl", s(&t.language));
        }
        let update = update
            .update_expression(format!(
                "{set} REMOVE GSI1PK, GSI1SK, deliveryErrorCode, deliveryErrorTitle"
            ))
            .build()
            .map_err(StoreError::build)?;
        Ok(vec![
            TransactWriteItem::builder().update(update).build(),
            self.pointer_put(wamid, k, PointerKind::Active, at)?,
            self.plain_put(customer_agent(&k.tenant, &k.customer, sender, at))?,
        ])
    }

    /// A direct send (`POST /active-messages`) went out: the customer is
    /// remembered as the sender's and the answer stored under the key, in
    /// one transaction; no record is marked.
    pub async fn direct_sent(
        &self,
        tenant: &str,
        customer: &str,
        sender: &str,
        at: DateTime<Utc>,
        idempotency: Option<&StoredResponse<'_>>,
    ) -> Result<(), StoreError> {
        let mut items = vec![self.plain_put(customer_agent(tenant, customer, sender, at))?];
        if let Some(r) = idempotency {
            items.push(
                TransactWriteItem::builder()
                    .update(self.idempotency_done(r)?)
                    .build(),
            );
        }
        self.transact(items).await
    }

    /// A status of a direct send whose answer was lost: went out → the
    /// customer becomes the sender's (once; a repeated status changes
    /// nothing); failed → its cap slot is given back. `Ok(true)` when it changed something.
    pub async fn settle_direct(
        &self,
        tenant: &str,
        customer: &str,
        tag: &SendTag,
        status: DeliveryStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if status.went_out() {
            let res = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(customer_agent(tenant, customer, &tag.sender, at)))
                .condition_expression("attribute_not_exists(PK) OR agentId <> :a")
                .expression_attribute_values(":a", s(&tag.sender))
                .send()
                .await;
            return applied(res);
        }
        if status != DeliveryStatus::Failed {
            return Ok(false);
        }
        self.release(tenant, &tag.sender, customer, &tag.send_id)
            .await?;
        Ok(true)
    }

    /// The active message went out: the record is marked sent, the `wamid`
    /// points at it, the customer is remembered as the sender's, and the
    /// idempotent result is stored, all in one transaction. `Ok(false)` when a
    /// status of this very send got there first (then only the result is stored).
    pub async fn mark_sent(&self, m: &SentMessage<'_>) -> Result<bool, StoreError> {
        let mut items = self.sent_writes(&WentOut {
            key: m.key,
            sender: m.sender,
            send_id: m.send_id,
            template: Some(m.template),
            wamid: m.wamid,
            status: DeliveryStatus::Accepted,
            at: m.at,
        })?;
        if let Some(r) = &m.idempotency {
            items.push(
                TransactWriteItem::builder()
                    .update(self.idempotency_done(r)?)
                    .build(),
            );
        }
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if e.is_condition_failed() => {
                if let Some(r) = &m.idempotency {
                    self.complete_idempotency(r).await?;
                }
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// WhatsApp's answer was lost: the record says `unknown` (still not sent)
    /// until a status settles it, and the 504 is stored under the key.
    pub async fn mark_unknown(&self, u: &UnknownSend<'_>) -> Result<(), StoreError> {
        let k = u.key;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(k.pk(), k.sk())))
            .update_expression(
                "SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :rank \
                 REMOVE deliveryErrorCode, deliveryErrorTitle",
            )
            .condition_expression(NOT_SETTLED)
            .expression_attribute_values(":st", s(DeliveryStatus::Unknown.as_str()))
            .expression_attribute_values(":at", n(u.at.timestamp()))
            .expression_attribute_values(":rank", n(i64::from(DeliveryStatus::Unknown.rank())))
            .expression_attribute_values(":sid", s(u.send_id))
            .build()
            .map_err(StoreError::build)?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(r) = &u.idempotency {
            items.push(
                TransactWriteItem::builder()
                    .update(self.idempotency_done(r)?)
                    .build(),
            );
        }
        match self.transact(items).await {
            Err(e) if e.is_condition_failed() => match &u.idempotency {
                Some(r) => self.complete_idempotency(r).await,
                None => Ok(()),
            },
            other => other,
        }
    }

    /// A status for a send that carried our tag and is not settled yet: sent,
    /// delivered or read mark the record sent; failed records Meta's reason
    /// and gives the cap slot back. `Ok(false)` when it was settled already.
    pub async fn settle_send(&self, st: &Settlement<'_>) -> Result<bool, StoreError> {
        let k = st.key;
        if st.status.went_out() {
            let items = self.sent_writes(&WentOut {
                key: k,
                sender: &st.tag.sender,
                send_id: &st.tag.send_id,
                template: st.tag.template.as_ref(),
                wamid: st.wamid,
                status: st.status,
                at: st.at,
            })?;
            return match self.transact(items).await {
                Ok(()) => Ok(true),
                Err(e) if e.is_condition_failed() => Ok(false),
                Err(e) => Err(e),
            };
        }
        if st.status != DeliveryStatus::Failed {
            return Ok(false);
        }
        let error = st.error.clone().unwrap_or(DeliveryError {
            code: 0,
            title: String::new(),
        });
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(k.pk(), k.sk())))
            .update_expression(
                "SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :rank, settledSend = :sid, \
                 deliveryErrorCode = :ec, deliveryErrorTitle = :et",
            )
            .condition_expression(format!("{NOT_SETTLED} AND messageSent = :false"))
            .expression_attribute_values(":st", s(st.status.as_str()))
            .expression_attribute_values(":at", n(st.at.timestamp()))
            .expression_attribute_values(":rank", n(i64::from(st.status.rank())))
            .expression_attribute_values(":sid", s(&st.tag.send_id))
            .expression_attribute_values(":ec", n(error.code))
            .expression_attribute_values(":et", s(error.title))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        let changed = applied(res)?;
        if changed {
            // This send did not go out after all: its slot no longer counts.
            self.release(&k.tenant, &st.tag.sender, &k.customer, &st.tag.send_id)
                .await?;
        }
        Ok(changed)
    }
}
