//! What a send's outcome writes on its record: sent (WhatsApp answered with
//! a `wamid`), unknown (the answer was lost), and the settlement a status with
//! our [`SendTag`](crate::model::SendTag) brings for a send whose answer was lost.
//!
//! `settledSend` names the last send whose outcome is known, so a send is
//! settled once whichever comes first (its answer, or its status), and a late
//! "unknown" never overwrites what a status already told.

use afterhours_rules::webhook::{DeliveryError, DeliveryStatus};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::client::{
    applied, cancelled, failed_condition, number_value, string_value, Store, StoreError,
    Transaction,
};
use super::item::{whole, CustomerAgentItem};
use super::keys;
use crate::model::{
    DirectSend, PointerKind, RecordKey, SendTag, SentMessage, Settlement, StoredResponse,
    TemplateRef, UnknownSend,
};

/// A send known to have gone out, from its answer or from a status.
#[derive(Clone, Copy)]
struct KnownSend<'a> {
    key: &'a RecordKey,
    sender: &'a str,
    send_id: &'a str,
    template: Option<&'a TemplateRef>,
    wamid: &'a str,
    status: DeliveryStatus,
    /// When the send was made.
    sent_at: DateTime<Utc>,
    /// When this news of it came (the answer, or the status).
    at: DateTime<Utc>,
}

/// The customer → agent item: who last reached this customer, and
/// `updatedAt`, the time of that send.
fn customer_agent(
    tenant: &str,
    customer: &str,
    sender: &str,
    at: DateTime<Utc>,
) -> Result<super::client::Item, StoreError> {
    // The customer is the sender's for 30 days after the send. The item stays
    // 8 days more (Meta's retries of the messages written meanwhile), so the
    // webhook still sees that the customer changed hands when it ran out.
    let forget = at + chrono::Duration::days(super::tenants::CUSTOMER_AGENT_DAYS);
    let gone = forget + chrono::Duration::days(afterhours_rules::RETENTION_DAYS + 1);
    whole(
        keys::customer_agent(tenant, customer),
        &CustomerAgentItem {
            agent: sender.to_string(),
            updated_at: at.timestamp(),
            agent_until: Some(forget.timestamp()),
            since: Some(Utc::now().timestamp()),
            expires_at: Some(gone.timestamp()),
        },
    )
}

/// Only a later send (or the same one again) changes whose customer it is:
/// a send, answer or status arriving out of order never hands a customer back.
const NEWER_SEND: &str =
    "attribute_not_exists(PK) OR updatedAt < :at OR (updatedAt = :at AND agentId = :a)";

/// How long a direct send's pointer (and its delivery state) is kept.
const DIRECT_POINTER_DAYS: i64 = afterhours_rules::RETENTION_DAYS + 1;

/// Not settled yet by this send.
const NOT_SETTLED: &str =
    "attribute_exists(PK) AND (attribute_not_exists(settledSend) OR settledSend <> :sid)";

impl Store {
    /// The record marked sent by `wamid` (it leaves the pending index), plus the
    /// pointer from the `wamid` for statuses and the customer remembered as the
    /// sender's: the writes every send that went out shares.
    fn sent_writes(&self, w: &KnownSend<'_>) -> Result<Vec<TransactWriteItem>, StoreError> {
        let KnownSend {
            key: k,
            sender,
            send_id,
            template,
            wamid,
            status,
            sent_at,
            at,
        } = *w;
        let mut set = "SET messageSent = :true, sentBy = :by, sentAt = :sat, sentWamid = :w, settledSend = :sid, \
                       deliveryStatus = :st, deliveryAt = :at, deliveryRank = :rank"
            .to_string();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::record(k)))
            .condition_expression(NOT_SETTLED)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":by", string_value(sender))
            .expression_attribute_values(":sat", number_value(sent_at.timestamp()))
            .expression_attribute_values(":at", number_value(at.timestamp()))
            .expression_attribute_values(":w", string_value(wamid))
            .expression_attribute_values(":sid", string_value(send_id))
            .expression_attribute_values(":st", string_value(status.as_str()))
            .expression_attribute_values(":rank", number_value(i64::from(status.rank())));
        if let Some(t) = template {
            set.push_str(", sentTemplate = :tn, sentLanguage = :tl");
            update = update
                .expression_attribute_values(":tn", string_value(&t.name))
                .expression_attribute_values(":tl", string_value(&t.language));
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
            self.owner_put(&k.tenant, &k.customer, sender, sent_at)?,
        ])
    }

    /// The customer becomes `sender`'s, as of the send at `sent_at`, unless a
    /// later send already made them someone's ([`NEWER_SEND`]).
    fn owner_put(
        &self,
        tenant: &str,
        customer: &str,
        sender: &str,
        sent_at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(customer_agent(tenant, customer, sender, sent_at)?))
            .condition_expression(NEWER_SEND)
            .expression_attribute_values(":at", number_value(sent_at.timestamp()))
            .expression_attribute_values(":a", string_value(sender))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Runs a transaction whose item `owner` is an [`owner_put`](Self::owner_put):
    /// when that condition alone fails (a later send owns the customer), the
    /// rest is applied without it. Any other failed condition is an error, as
    /// [`Store::transact`] gives it.
    async fn transact_with_owner(
        &self,
        mut items: Vec<TransactWriteItem>,
        owner: usize,
    ) -> Result<(), StoreError> {
        let reasons = match self.transact_or_reasons(items.clone()).await? {
            Transaction::Applied => return Ok(()),
            Transaction::Refused(reasons) => reasons,
        };
        let only_owner = failed_condition(&reasons, owner)
            && (0..items.len()).all(|i| i == owner || !failed_condition(&reasons, i));
        if !only_owner {
            return Err(cancelled(&reasons));
        }
        items.remove(owner);
        self.transact(items).await
    }

    /// The pointer from a direct send's `wamid`: it leads to itself and holds
    /// the send's delivery state (there is no record). `first` makes it the
    /// send's settlement: written only when no status settled it before.
    fn direct_pointer(
        &self,
        d: &DirectSend<'_>,
        status: DeliveryStatus,
        error: Option<&DeliveryError>,
        first: bool,
    ) -> Result<Update, StoreError> {
        // A direct send's pointer points at itself (it holds the delivery state).
        let own = keys::pointer(d.wamid);
        let mut set = vec![
            "tenantId = :t",
            "pointerKind = :kind",
            "recordPK = :pk",
            "recordSK = :sk",
            "sentWamid = :w",
            "sentBy = :by",
            "expiresAt = :exp",
        ];
        // The answer never overwrites a state a status brought first.
        set.push(if first {
            "deliveryStatus = :st, deliveryAt = :at, deliveryRank = :rank"
        } else {
            "deliveryStatus = if_not_exists(deliveryStatus, :st), deliveryAt = if_not_exists(deliveryAt, :at), \
             deliveryRank = if_not_exists(deliveryRank, :rank)"
        });
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(own.clone()))
            .expression_attribute_values(":t", string_value(d.tenant))
            .expression_attribute_values(":kind", string_value(PointerKind::Direct.as_str()))
            .expression_attribute_values(":pk", own["PK"].clone())
            .expression_attribute_values(":sk", own["SK"].clone())
            .expression_attribute_values(":w", string_value(d.wamid))
            .expression_attribute_values(":by", string_value(d.sender))
            .expression_attribute_values(":st", string_value(status.as_str()))
            .expression_attribute_values(":at", number_value(d.at.timestamp()))
            .expression_attribute_values(":rank", number_value(i64::from(status.rank())))
            .expression_attribute_values(
                ":exp",
                number_value((d.sent_at + chrono::Duration::days(DIRECT_POINTER_DAYS)).timestamp()),
            );
        if let Some(e) = error {
            set.push("deliveryErrorCode = :ec, deliveryErrorTitle = :et");
            update = update
                .expression_attribute_values(":ec", number_value(e.code))
                .expression_attribute_values(":et", string_value(&e.title));
        }
        if first {
            update = update.condition_expression("attribute_not_exists(recordPK)");
        }
        update
            .update_expression(format!("SET {}", set.join(", ")))
            .build()
            .map_err(StoreError::build)
    }

    /// A direct send (`POST /active-messages`) went out: the customer is
    /// remembered as the sender's (unless a later send owns them), the
    /// `wamid` points at the send's delivery state, and the answer is stored
    /// under the key, in one transaction; no record is marked.
    pub async fn direct_sent(
        &self,
        d: &DirectSend<'_>,
        idempotency: Option<&StoredResponse<'_>>,
    ) -> Result<(), StoreError> {
        let mut items = vec![
            self.owner_put(d.tenant, d.customer, d.sender, d.sent_at)?,
            TransactWriteItem::builder()
                .update(self.direct_pointer(d, DeliveryStatus::Accepted, None, false)?)
                .build(),
        ];
        if let Some(r) = idempotency {
            items.push(
                TransactWriteItem::builder()
                    .update(self.idempotency_done(r)?)
                    .build(),
            );
        }
        self.transact_with_owner(items, 0).await
    }

    /// The first status of a direct send whose answer was lost settles it,
    /// once (its pointer is written then; later statuses only update the
    /// delivery state): went out → the customer becomes the sender's as of
    /// the send's own time; failed → its cap slot is given back.
    /// `Ok(true)` when it changed something.
    pub async fn settle_direct(
        &self,
        d: &DirectSend<'_>,
        tag: &SendTag,
        status: DeliveryStatus,
        error: Option<&DeliveryError>,
    ) -> Result<bool, StoreError> {
        if !status.went_out() && status != DeliveryStatus::Failed {
            return Ok(false);
        }
        let pointer = TransactWriteItem::builder()
            .update(self.direct_pointer(d, status, error, true)?)
            .build();
        let settled = if status.went_out() {
            let owner = self.owner_put(d.tenant, d.customer, d.sender, d.sent_at)?;
            self.transact_with_owner(vec![pointer, owner], 1).await
        } else {
            self.transact(vec![pointer]).await
        };
        match settled {
            Ok(()) => {}
            // Settled by an earlier status (or the answer) already.
            Err(e) if e.is_condition_failed() => return Ok(false),
            Err(e) => return Err(e),
        }
        if status == DeliveryStatus::Failed {
            self.release(d.tenant, d.sender, d.customer, &tag.send_id)
                .await?;
        }
        Ok(true)
    }

    /// The active message went out: the record is marked sent, the `wamid`
    /// points at it, the customer is remembered as the sender's, and the
    /// idempotent result is stored, all in one transaction. `Ok(false)` when a
    /// status of this very send got there first (then only the result is stored).
    pub async fn mark_sent(&self, m: &SentMessage<'_>) -> Result<bool, StoreError> {
        let mut items = self.sent_writes(&KnownSend {
            key: m.key,
            sender: m.sender,
            send_id: m.send_id,
            template: Some(m.template),
            wamid: m.wamid,
            status: DeliveryStatus::Accepted,
            sent_at: m.at,
            at: m.at,
        })?;
        if let Some(r) = &m.idempotency {
            items.push(
                TransactWriteItem::builder()
                    .update(self.idempotency_done(r)?)
                    .build(),
            );
        }
        match self.transact_with_owner(items, 2).await {
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
            .set_key(Some(keys::record(k)))
            .update_expression(
                "SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :rank \
                 REMOVE deliveryErrorCode, deliveryErrorTitle",
            )
            .condition_expression(NOT_SETTLED)
            .expression_attribute_values(":st", string_value(DeliveryStatus::Unknown.as_str()))
            .expression_attribute_values(":at", number_value(u.at.timestamp()))
            .expression_attribute_values(
                ":rank",
                number_value(i64::from(DeliveryStatus::Unknown.rank())),
            )
            .expression_attribute_values(":sid", string_value(u.send_id))
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
            let items = self.sent_writes(&KnownSend {
                key: k,
                sender: &st.tag.sender,
                send_id: &st.tag.send_id,
                template: st.tag.template.as_ref(),
                wamid: st.wamid,
                status: st.status,
                sent_at: st.tag.sent_at_or(st.at),
                at: st.at,
            })?;
            return match self.transact_with_owner(items, 2).await {
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
            .set_key(Some(keys::record(k)))
            .update_expression(
                "SET deliveryStatus = :st, deliveryAt = :at, deliveryRank = :rank, settledSend = :sid, \
                 deliveryErrorCode = :ec, deliveryErrorTitle = :et",
            )
            .condition_expression(format!("{NOT_SETTLED} AND messageSent = :false"))
            .expression_attribute_values(":st", string_value(st.status.as_str()))
            .expression_attribute_values(":at", number_value(st.at.timestamp()))
            .expression_attribute_values(":rank", number_value(i64::from(st.status.rank())))
            .expression_attribute_values(":sid", string_value(&st.tag.send_id))
            .expression_attribute_values(":ec", number_value(error.code))
            .expression_attribute_values(":et", string_value(error.title))
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
