//! What the store keeps, as plain types: channels, contact records and their keys.

use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::ids::Ident;
use afterhours_rules::webhook::{DeliveryError, DeliveryStatus};
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A WhatsApp number bound to one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    pub phone_number_id: String,
    pub tenant_id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub default_agent_id: String,
}

/// Who an active message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendTarget {
    /// `POST /contacts/{id}/active-messages`: the record's customer, on its channel.
    Record(RecordKey),
    /// `POST /active-messages`: any customer, on a channel of the tenant's
    /// (its phone number id); the customer is the number's digits or the
    /// business-scoped id.
    Direct { channel: String, customer: String },
}

impl SendTarget {
    pub fn customer(&self) -> &str {
        match self {
            SendTarget::Record(k) => &k.customer,
            SendTarget::Direct { customer, .. } => customer,
        }
    }
}

/// What identifies one record: (tenant, agent, customer, closed period).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordKey {
    pub tenant: String,
    pub agent: String,
    pub customer: String,
    /// The closed period's start, epoch seconds.
    pub period: i64,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

impl RecordKey {
    /// The opaque id the API shows. It carries no tenant: the tenant always
    /// comes from the caller's token, so another tenant's id finds nothing.
    pub fn id(&self) -> String {
        B64.encode(format!(
            "{}\n{}\n{}",
            self.agent, self.customer, self.period
        ))
    }

    /// Reads an id back under the caller's tenant; `None` for anything malformed.
    pub fn from_id(tenant: &str, id: &str) -> Option<RecordKey> {
        let raw = String::from_utf8(B64.decode(id.as_bytes()).ok()?).ok()?;
        let mut parts = raw.split('\n');
        let (agent, customer, period) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || agent.trim() != agent || customer.trim() != customer {
            return None;
        }
        Some(RecordKey {
            tenant: tenant.to_string(),
            agent: Ident::parse("agent", agent).ok()?.into_string(),
            customer: Ident::parse("customer", customer).ok()?.into_string(),
            period: period.parse().ok()?,
        })
    }
}

/// The delivery state of the active message sent on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub status: DeliveryStatus,
    pub at: DateTime<Utc>,
    pub error: Option<DeliveryError>,
}

/// A template as it is named in a send: name and language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
}

/// One outside-hours contact record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub key: RecordKey,
    pub channel: String,
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub message_count: i64,
    pub expires_at: DateTime<Utc>,
    pub requested_callback: RequestedCallback,
    pub prompt_wamid: Option<String>,
    pub message_sent: bool,
    pub sent_by: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub sent_template: Option<TemplateRef>,
    pub sent_wamid: Option<String>,
    pub delivery: Option<Delivery>,
    /// Marked handled without an active message (the agent phoned, say).
    pub handled: Option<Handled>,
}

/// Who marked a record handled, when, and their note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub by: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

impl ContactRecord {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

/// One inbound message to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub key: RecordKey,
    pub channel: String,
    pub wamid: String,
    pub at: DateTime<Utc>,
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub name: Option<String>,
    /// Nothing that picks a message's record (the customer's agent, the
    /// number's default agent, the settings) changed since shortly before
    /// the message was written, so every delivery of it names this record.
    pub settled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// The first message of the period: this call created the record.
    Created,
    /// Added to an existing record.
    Added,
    /// This `wamid` was already counted: nothing changed.
    Duplicate,
}

/// A customer's tap on a prompt's button.
#[derive(Debug, Clone, Copy)]
pub struct Tap<'a> {
    pub tenant: &'a str,
    /// Who tapped (the customer id, as records name customers).
    pub customer: &'a str,
    /// The prompt the tap quotes (`context.id`).
    pub prompt_wamid: &'a str,
    pub yes: bool,
    pub at: DateTime<Utc>,
}

/// What a tap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapOutcome {
    /// The record took the answer.
    Answered,
    /// Nothing changed: a redelivered or older tap, another tenant's prompt,
    /// or a tap kept until the prompt's bookkeeping arrives.
    Unchanged,
    /// The prompt went to another customer: nothing changed.
    Foreign,
}

impl TapOutcome {
    pub fn answered(self) -> bool {
        self == TapOutcome::Answered
    }
}

/// Filters of `GET /contacts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub requested_callback: Option<RequestedCallback>,
    pub message_sent: Option<bool>,
    pub handled: Option<bool>,
}

impl ListFilter {
    /// No filter beyond "still live".
    pub fn is_empty(&self) -> bool {
        self.requested_callback.is_none() && self.message_sent.is_none() && self.handled.is_none()
    }
}

/// The order of `GET /contacts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// The latest first contact first.
    #[default]
    Newest,
    /// The contacts that leave the list soonest first.
    Oldest,
}

impl ListOrder {
    pub fn parse(s: &str) -> Option<ListOrder> {
        match s {
            "newest" => Some(ListOrder::Newest),
            "oldest" => Some(ListOrder::Oldest),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ListOrder::Newest => "newest",
            ListOrder::Oldest => "oldest",
        }
    }
}

/// One page of one agent's records: whose, which, how many, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery<'a> {
    pub tenant: &'a str,
    pub agent: &'a str,
    pub filter: ListFilter,
    pub order: ListOrder,
    pub limit: i32,
    /// The cursor of the previous page, as the client sent it.
    pub cursor: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// What a message pointer (`W#{wamid}`) points from: our prompt or an active message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PointerKind {
    Prompt,
    /// An active message sent from a record: the pointer leads to it.
    Active,
    /// A direct send (no record): the pointer item holds its own delivery state.
    Direct,
}

impl PointerKind {
    /// As stored (and as serde reads it back).
    pub fn as_str(self) -> &'static str {
        match self {
            PointerKind::Prompt => "prompt",
            PointerKind::Active => "active",
            PointerKind::Direct => "direct",
        }
    }
}

/// A direct send (`POST /active-messages`): to whom, by whom, its `wamid`,
/// when it was made, and when this news of it came (its answer or a status).
#[derive(Debug, Clone, Copy)]
pub struct DirectSend<'a> {
    pub tenant: &'a str,
    pub customer: &'a str,
    pub sender: &'a str,
    pub wamid: &'a str,
    pub sent_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// A delivery status to apply to the record an active message was sent from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate<'a> {
    pub tenant: &'a str,
    pub wamid: &'a str,
    pub status: DeliveryStatus,
    pub at: DateTime<Utc>,
    pub error: Option<DeliveryError>,
}

/// An active message that went out from a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage<'a> {
    pub key: &'a RecordKey,
    pub sender: &'a str,
    /// The send's id (its cap slot's token when the cap is on), as in its [`SendTag`].
    pub send_id: &'a str,
    pub template: &'a TemplateRef,
    pub wamid: &'a str,
    pub at: DateTime<Utc>,
    /// The idempotency key's item and the response to store with it, in the same transaction.
    pub idempotency: Option<StoredResponse<'a>>,
}

/// A send whose answer from WhatsApp was lost: it may have gone out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSend<'a> {
    pub key: &'a RecordKey,
    pub send_id: &'a str,
    pub at: DateTime<Utc>,
    pub idempotency: Option<StoredResponse<'a>>,
}

/// What every active message carries in `biz_opaque_callback_data` (Meta
/// echoes it in the message's statuses), so that a send whose answer was lost
/// can be settled from its status: which record, who sent it, the send's id
/// (its cap slot), and the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendTag {
    #[serde(rename = "ah")]
    pub version: u8,
    /// The record's id ([`RecordKey::id`]).
    #[serde(rename = "r")]
    pub record: String,
    #[serde(rename = "a")]
    pub sender: String,
    #[serde(rename = "s")]
    pub send_id: String,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// A direct send's customer (`POST /active-messages`); then `record` is empty.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// When the send was made (epoch seconds): what decides whose customer
    /// it is when a status settles a send whose answer was lost.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
}

impl SendTag {
    /// The send's own time; a tag from before it carried one falls back to `status_at`.
    pub fn sent_at_or(&self, status_at: DateTime<Utc>) -> DateTime<Utc> {
        self.sent_at
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .unwrap_or(status_at)
    }
}

/// Meta's limit for `biz_opaque_callback_data`.
pub const MAX_CALLBACK_DATA: usize = 512;

impl SendTag {
    /// The text to send; the template is left out when it would not fit.
    pub fn encode(&self) -> String {
        let full = serde_json::to_string(self).unwrap_or_default();
        if full.len() <= MAX_CALLBACK_DATA {
            return full;
        }
        let short = SendTag {
            template: None,
            ..self.clone()
        };
        serde_json::to_string(&short).unwrap_or_default()
    }

    /// Reads a status's callback data; `None` for anything that is not our tag.
    pub fn parse(data: &str) -> Option<SendTag> {
        serde_json::from_str::<SendTag>(data)
            .ok()
            .filter(|t| t.version == 1)
    }
}

/// What the next-hours prompt carries in `biz_opaque_callback_data`: its
/// record, so that a status of the prompt can complete its bookkeeping when
/// the webhook that sent it stopped before storing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTag {
    #[serde(rename = "ah")]
    pub version: u8,
    /// The record's id ([`RecordKey::id`]).
    pub prompt: String,
}

impl PromptTag {
    pub fn new(k: &RecordKey) -> Self {
        PromptTag {
            version: 1,
            prompt: k.id(),
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse(data: &str) -> Option<PromptTag> {
        serde_json::from_str::<PromptTag>(data)
            .ok()
            .filter(|t| t.version == 1)
    }
}

/// A status for a send that carried a [`SendTag`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement<'a> {
    pub key: &'a RecordKey,
    pub tag: &'a SendTag,
    pub wamid: &'a str,
    pub status: DeliveryStatus,
    pub at: DateTime<Utc>,
    pub error: Option<DeliveryError>,
}

/// A final response kept under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse<'a> {
    pub pk: &'a str,
    pub status: u16,
    pub body: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_carry_no_tenant() {
        let k = RecordKey {
            tenant: "t1".into(),
            agent: "a-1".into(),
            customer: "5511".into(),
            period: 1763766000,
        };
        let id = k.id();
        assert_eq!(RecordKey::from_id("t1", &id), Some(k.clone()));
        let other = RecordKey::from_id("t2", &id).unwrap();
        assert_eq!(other.tenant, "t2");
        assert_ne!(
            crate::store::keys::record(&other),
            crate::store::keys::record(&k)
        );
    }

    #[test]
    fn a_send_tag_fits_metas_limit_and_reads_back() {
        let tag = SendTag {
            version: 1,
            record: "YS0xCjU1MTEKMQ".into(),
            sender: "a-1".into(),
            send_id: "0123456789abcdef0123456789abcdef".into(),
            template: Some(TemplateRef {
                name: "retorno".into(),
                language: "pt_BR".into(),
            }),
            customer: None,
            sent_at: Some(1_763_766_000),
        };
        assert_eq!(SendTag::parse(&tag.encode()), Some(tag.clone()));
        let long = SendTag {
            template: Some(TemplateRef {
                name: "x".repeat(512),
                language: "pt_BR".into(),
            }),
            ..tag.clone()
        };
        let encoded = long.encode();
        assert!(encoded.len() <= MAX_CALLBACK_DATA);
        assert_eq!(SendTag::parse(&encoded).unwrap().template, None);
        assert_eq!(SendTag::parse("something else"), None);
        assert_eq!(SendTag::parse(r#"{"ah":2,"r":"x","a":"a","s":"s"}"#), None);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for id in [
            "",
            "!!!",
            &B64.encode("a\nb"),
            &B64.encode("a\nb\nx"),
            &B64.encode("a#x\nb\n1"),
            &B64.encode(format!("{}\nb\n1", "a".repeat(129))),
            &B64.encode(" a\nb\n1"),
            &B64.encode("a\nb\n1\n2"),
        ] {
            assert_eq!(RecordKey::from_id("t", id), None, "{id}");
        }
    }
}
