//! Stored items read back into types with `serde_dynamo`: a missing or
//! malformed attribute is an error that names the item's key, never a default.
//! Items written whole are written from the struct they are read with
//! ([`whole`]); items changed in place keep their update expressions.

use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::webhook::{DeliveryError, DeliveryStatus};
use chrono::{DateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{Item, StoreError};
use crate::model::{
    Channel, ContactRecord, Delivery, Handled, PointerKind, RecordKey, TemplateRef,
};

/// An item's kind, for error messages: the first part of its PK and its SK
/// (`T/CUST`, `T#A/C`), never an id or a number.
fn kind_of(pk: &str, sk: &str) -> String {
    let tags = |k: &str| {
        k.split('#')
            .step_by(2)
            .take_while(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_uppercase()))
            .collect::<Vec<_>>()
            .join("#")
    };
    format!("{}/{}", tags(pk), tags(sk))
}

/// What a malformed item's error may say of it: its kind, and a short hash
/// of its key (enough to find it, telling nothing of the customer).
pub(super) fn malformed(item: &Item, reason: impl std::fmt::Display) -> StoreError {
    use sha2::{Digest, Sha256};
    let part = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_s().ok())
            .map_or("?", String::as_str)
            .to_string()
    };
    let (pk, sk) = (part("PK"), part("SK"));
    let hash = Sha256::digest(format!("{pk}/{sk}").as_bytes());
    StoreError::Malformed {
        kind: kind_of(&pk, &sk),
        key_hash: hex::encode(&hash[..6]),
        reason: redact(&reason.to_string()),
    }
}

/// serde's messages quote the values they refused (`invalid type: string
/// "5511…"`): quoted text and long digit runs are left out.
fn redact(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut quoted = false;
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.chars().count() >= 5 {
            out.push('…');
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in reason.chars() {
        if c == '"' {
            flush(&mut digits, &mut out);
            if !quoted {
                out.push_str("\"…");
            }
            quoted = !quoted;
            if !quoted {
                out.push('"');
            }
            continue;
        }
        if quoted {
            continue;
        }
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// An item written whole: its key (from [`super::keys`]) and its
/// attributes, serialized from the struct it is read back with.
pub(super) fn whole<T: Serialize>(key: Item, attributes: &T) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(attributes).map_err(|e| StoreError::Dynamo {
        kind: super::client::DynamoFailure::Validation,
        detail: format!("an item could not be written: {e}"),
    })?;
    item.extend(key);
    Ok(item)
}

/// Any item as `T`.
pub(super) fn parse<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item.clone()).map_err(|e| malformed(item, e))
}

/// Epoch seconds as a time; out of range is malformed.
fn at(item: &Item, field: &str, secs: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .ok_or_else(|| malformed(item, format!("{field} {secs} is not a time")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordItem {
    tenant_id: String,
    agent_id: String,
    customer_id: String,
    period_start: i64,
    channel_id: String,
    wa_id: Option<String>,
    user_id: Option<String>,
    profile_name: Option<String>,
    first_at: i64,
    last_at: i64,
    msg_count: i64,
    expires_at: i64,
    requested_callback: RequestedCallback,
    prompt_wamid: Option<String>,
    message_sent: bool,
    sent_by: Option<String>,
    sent_at: Option<i64>,
    sent_template: Option<String>,
    sent_language: Option<String>,
    sent_wamid: Option<String>,
    delivery_status: Option<DeliveryStatus>,
    delivery_at: Option<i64>,
    delivery_error_code: Option<i64>,
    delivery_error_title: Option<String>,
    handled_by: Option<String>,
    handled_at: Option<i64>,
    handled_note: Option<String>,
}

/// Reads a contact record item.
pub fn record_of(item: &Item) -> Result<ContactRecord, StoreError> {
    let r: RecordItem = parse(item)?;
    let delivery = match r.delivery_status {
        Some(status) => Some(Delivery {
            status,
            at: match r.delivery_at {
                Some(t) => at(item, "deliveryAt", t)?,
                None => return Err(malformed(item, "deliveryStatus without deliveryAt")),
            },
            error: r.delivery_error_code.map(|code| DeliveryError {
                code,
                title: r.delivery_error_title.clone().unwrap_or_default(),
            }),
        }),
        None => None,
    };
    let sent_template = match (r.sent_template, r.sent_language) {
        (Some(name), Some(language)) => Some(TemplateRef { name, language }),
        (None, None) => None,
        _ => return Err(malformed(item, "sentTemplate without sentLanguage")),
    };
    let handled = match (r.handled_by, r.handled_at) {
        (Some(by), Some(t)) => Some(Handled {
            by,
            at: at(item, "handledAt", t)?,
            note: r.handled_note,
        }),
        (None, None) => None,
        _ => return Err(malformed(item, "handledBy without handledAt")),
    };
    Ok(ContactRecord {
        key: RecordKey {
            tenant: r.tenant_id,
            agent: r.agent_id,
            customer: r.customer_id,
            period: r.period_start,
        },
        channel: r.channel_id,
        wa_id: r.wa_id,
        user_id: r.user_id,
        name: r.profile_name,
        first_at: at(item, "firstAt", r.first_at)?,
        last_at: at(item, "lastAt", r.last_at)?,
        message_count: r.msg_count,
        expires_at: at(item, "expiresAt", r.expires_at)?,
        requested_callback: r.requested_callback,
        prompt_wamid: r.prompt_wamid,
        message_sent: r.message_sent,
        sent_by: r.sent_by,
        sent_at: r.sent_at.map(|t| at(item, "sentAt", t)).transpose()?,
        sent_template,
        sent_wamid: r.sent_wamid,
        delivery,
        handled,
    })
}

/// A number's binding, and the tenant's copy of it (the same attributes).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ChannelItem {
    tenant_id: String,
    waba_id: String,
    display_phone_number: String,
    pub(super) default_agent_id: String,
    /// When the binding was last written (epoch seconds, our clock): the
    /// default agent may have changed then. Absent on bindings written
    /// before it was kept.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) changed_at: Option<i64>,
}

impl ChannelItem {
    pub(super) fn of(c: &Channel, changed_at: i64) -> Self {
        ChannelItem {
            tenant_id: c.tenant_id.clone(),
            waba_id: c.waba_id.clone(),
            display_phone_number: c.display_phone_number.clone(),
            default_agent_id: c.default_agent_id.clone(),
            changed_at: Some(changed_at),
        }
    }

    pub(super) fn tenant(&self) -> &str {
        &self.tenant_id
    }
}

pub(super) fn channel_of(phone_number_id: &str, item: &Item) -> Result<Channel, StoreError> {
    let c: ChannelItem = parse(item)?;
    Ok(Channel {
        phone_number_id: phone_number_id.to_string(),
        tenant_id: c.tenant_id,
        waba_id: c.waba_id,
        display_phone_number: c.display_phone_number,
        default_agent_id: c.default_agent_id,
    })
}

/// Who last reached a customer: the agent, the time of that send, and when
/// the memory is forgotten.
#[derive(Serialize, Deserialize)]
pub(super) struct CustomerAgentItem {
    #[serde(rename = "agentId")]
    pub(super) agent: String,
    /// The time of that send: only a later one replaces it.
    #[serde(rename = "updatedAt", default)]
    pub(super) updated_at: i64,
    /// Until when the customer is that agent's (absent on items written
    /// before it was kept: then `expiresAt` says it).
    #[serde(
        rename = "agentUntil",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub(super) agent_until: Option<i64>,
    /// When the item was last written (epoch seconds, our clock).
    #[serde(rename = "since", skip_serializing_if = "Option::is_none", default)]
    pub(super) since: Option<i64>,
    #[serde(rename = "expiresAt")]
    pub(super) expires_at: Option<i64>,
}

/// A message counted once, whatever record it went to: only its key and its
/// expiry (after Meta's last retry).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ClaimItem {
    pub(super) expires_at: i64,
}

/// A business account granted to a tenant (`WABA#`), or the tenant's copy
/// of the grant (no `tenantId`: the partition says whose it is).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccountItem {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) tenant_id: Option<String>,
    pub(super) waba_id: String,
}

/// A JSON document (settings) and its version.
#[derive(Serialize, Deserialize)]
pub(super) struct DocItem {
    pub(super) doc: String,
    #[serde(default)]
    pub(super) version: u64,
    /// When the settings were saved (epoch seconds, our clock).
    #[serde(rename = "savedAt", skip_serializing_if = "Option::is_none", default)]
    pub(super) saved_at: Option<i64>,
}

/// A JSON document item: its document, and the item it was in.
fn doc_parts(item: &Item) -> Result<(Value, DocItem), StoreError> {
    let d: DocItem = parse(item)?;
    let value = serde_json::from_str(&d.doc).map_err(|e| malformed(item, e))?;
    Ok((value, d))
}

/// A JSON document item and its version (0 for one written before versions).
pub(super) fn versioned_doc_of(item: &Item) -> Result<(Value, u64), StoreError> {
    doc_parts(item).map(|(value, d)| (value, d.version))
}

/// A JSON document item and when it was saved (absent before that was kept).
pub(super) fn saved_doc_of(item: &Item) -> Result<(Value, Option<i64>), StoreError> {
    doc_parts(item).map(|(value, d)| (value, d.saved_at))
}

/// A JSON document item (settings, templates).
pub(super) fn doc_of(item: &Item) -> Result<Value, StoreError> {
    doc_parts(item).map(|(value, _)| value)
}

/// Where a message pointer leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pointer {
    pub tenant: String,
    pub record_pk: String,
    pub record_sk: String,
    pub kind: PointerKind,
}

/// A pointer's item: where it leads (taps parked there before it led
/// anywhere are read by the ingest module, per customer).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct PointerItem {
    #[serde(rename = "tenantId")]
    tenant: String,
    #[serde(rename = "recordPK")]
    record_pk: Option<String>,
    #[serde(rename = "recordSK")]
    record_sk: Option<String>,
    #[serde(rename = "pointerKind")]
    kind: Option<PointerKind>,
}

impl PointerItem {
    pub(super) fn pointer(self) -> Option<Pointer> {
        Some(Pointer {
            tenant: self.tenant,
            record_pk: self.record_pk?,
            record_sk: self.record_sk?,
            kind: self.kind?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::client::{item_key, number_value, string_value};
    use aws_sdk_dynamodb::types::AttributeValue;

    fn record_item() -> Item {
        let mut i = item_key("T#t#A#a", "C#c#1");
        for (k, v) in [
            ("tenantId", string_value("t")),
            ("agentId", string_value("a")),
            ("customerId", string_value("c")),
            ("periodStart", number_value(1)),
            ("channelId", string_value("p")),
            ("firstAt", number_value(1_700_000_000)),
            ("lastAt", number_value(1_700_000_100)),
            ("msgCount", number_value(2)),
            ("expiresAt", number_value(1_700_604_800)),
            ("requestedCallback", string_value("pending")),
            ("messageSent", AttributeValue::Bool(false)),
        ] {
            i.insert(k.into(), v);
        }
        i
    }

    #[test]
    fn a_record_reads_into_its_types() {
        let r = record_of(&record_item()).unwrap();
        assert_eq!(r.requested_callback, RequestedCallback::Pending);
        assert_eq!(r.message_count, 2);
        assert_eq!(r.first_at.timestamp(), 1_700_000_000);
        assert_eq!(r.delivery, None);
    }

    #[test]
    fn a_missing_attribute_names_the_item_instead_of_defaulting() {
        let mut i = record_item();
        i.remove("firstAt");
        let e = record_of(&i).unwrap_err();
        assert!(
            matches!(&e, StoreError::Malformed { kind, reason, .. } if kind == "T#A/C" && reason.contains("firstAt")),
            "{e}"
        );
        let mut i = record_item();
        i.insert("requestedCallback".into(), string_value("maybe"));
        assert!(matches!(record_of(&i), Err(StoreError::Malformed { .. })));
    }

    #[test]
    fn a_malformed_items_error_names_no_phone_number() {
        let phone = "5511999990000";
        let mut i = item_key("T#t1", format!("CUST#{phone}"));
        i.insert("agentId".into(), number_value(7));
        i.insert("waId".into(), number_value(5511999990000));
        let mut rec = record_item();
        rec.insert("SK".into(), string_value(format!("C#{phone}#1700000000")));
        rec.insert("waId".into(), AttributeValue::M(Default::default()));
        rec.insert("msgCount".into(), string_value(phone));
        for e in [
            malformed(
                &i,
                format!("invalid type: string \"{phone}\", expected i64"),
            ),
            record_of(&rec).unwrap_err(),
        ] {
            let logged = e.to_string();
            assert!(!logged.contains(phone), "{logged}");
            assert!(!logged.contains("99999"), "{logged}");
            assert!(logged.contains("key hash"), "{logged}");
        }
        let e = malformed(&i, "missing field `agentId`");
        assert!(
            matches!(&e, StoreError::Malformed { kind, key_hash, reason }
                if kind == "T/CUST" && key_hash.len() == 12 && reason == "missing field `agentId`"),
            "{e}"
        );
        // The same key always hashes the same, another key differently.
        let again = malformed(&i, "x");
        let other = malformed(&item_key("T#t1", "CUST#5511999990001"), "x");
        let hash = |e: &StoreError| match e {
            StoreError::Malformed { key_hash, .. } => key_hash.clone(),
            _ => unreachable!(),
        };
        assert_eq!(hash(&e), hash(&again));
        assert_ne!(hash(&e), hash(&other));
    }

    #[test]
    fn serdes_quoted_values_and_long_numbers_are_left_out() {
        assert_eq!(
            redact("invalid type: string \"5511 9999\", expected i64 at line 1"),
            "invalid type: string \"…\", expected i64 at line 1"
        );
        assert_eq!(
            redact("invalid value: integer `5511999990000`"),
            "invalid value: integer `…`"
        );
        assert_eq!(
            redact("missing field `firstAt` 1234"),
            "missing field `firstAt` 1234"
        );
    }
}
