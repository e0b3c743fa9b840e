//! The WhatsApp Cloud API webhook payload, read into typed events. Unknown
//! fields are ignored; a value of the wrong type skips that one item with a
//! reason instead of failing the whole POST; only a body that is not a
//! webhook at all is an error.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

/// Why a body is not a webhook at all (one bad item only skips that item).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not a WhatsApp webhook: {0}")]
    NotAWebhook(&'static str),
}

/// What a customer sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    Text,
    /// A tap on an interactive reply button.
    ButtonReply {
        id: String,
        title: String,
    },
    /// A tap on a template's quick-reply button.
    TemplateButton {
        payload: String,
        text: String,
    },
    /// A type WhatsApp does not support; still a contact.
    Unknown {
        error_codes: Vec<i64>,
    },
    /// A notice from WhatsApp (e.g. the customer changed number), not from the customer.
    System,
    /// Any other type (image, audio, location, reaction, ...).
    Other(String),
}

/// One inbound message with the sender's contact details joined in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub id: String,
    pub timestamp: DateTime<Utc>,
    /// The phone number (`wa_id`), when WhatsApp shares it.
    pub wa_id: Option<String>,
    /// The business-scoped user id, when present.
    pub user_id: Option<String>,
    pub profile_name: Option<String>,
    /// The message this one replies to (`context.id`).
    pub context_id: Option<String>,
    pub kind: MessageKind,
}

impl InboundMessage {
    /// The stable customer key: the phone when known, else the business-scoped id.
    pub fn customer(&self) -> Option<&str> {
        self.wa_id.as_deref().or(self.user_id.as_deref())
    }
}

/// Where a message this system sent stands, in order of progress.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Our send's answer was lost: WhatsApp may or may not have it (never from Meta).
    Unknown,
    Accepted,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "accepted" => Self::Accepted,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Accepted => "accepted",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    /// Order of progress; a status never moves a record to a lower rank.
    /// (`unknown` and `accepted` share the bottom: both are only ever set by
    /// the send itself, and the stored ranks of `accepted` onwards never change.)
    pub fn rank(self) -> u8 {
        match self {
            Self::Unknown | Self::Accepted => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Read => 3,
            Self::Failed => 4,
        }
    }

    /// Whether the message reached WhatsApp's side (it was sent, whatever came after).
    pub fn went_out(self) -> bool {
        matches!(self, Self::Sent | Self::Delivered | Self::Read)
    }
}

/// Meta's reason for a failed delivery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryError {
    pub code: i64,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The `wamid` of the message this system sent.
    pub id: String,
    pub status: DeliveryStatus,
    pub timestamp: DateTime<Utc>,
    pub recipient: Option<String>,
    pub error: Option<DeliveryError>,
    /// What we put in `biz_opaque_callback_data` when sending, echoed by Meta.
    pub callback_data: Option<String>,
}

/// One `changes[].value` of field `messages`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Change {
    pub phone_number_id: String,
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payload {
    pub changes: Vec<Change>,
    /// Items that could not be read, with why (logged, never fatal).
    pub skipped: Vec<String>,
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|x| !x.is_empty())
}

/// Timestamps outside 2000..2200 are refused, which keeps every later time
/// computation far from chrono's limits.
const TIMESTAMP_RANGE: std::ops::RangeInclusive<i64> = 946_684_800..=7_258_118_400;

fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    let secs = match v.get("timestamp")? {
        Value::String(x) => x.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    TIMESTAMP_RANGE
        .contains(&secs)
        .then(|| Utc.timestamp_opt(secs, 0).single())
        .flatten()
}

fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Reads a webhook body.
pub fn parse(body: &[u8]) -> Result<Payload, PayloadError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    if !v.is_object() {
        return Err(PayloadError::NotAWebhook("the body must be a JSON object"));
    }
    let entries = match v.get("entry") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(PayloadError::NotAWebhook("entry must be a list")),
        None => return Err(PayloadError::NotAWebhook("entry is missing")),
    };
    let mut out = Payload::default();
    for (ei, entry) in entries.iter().enumerate() {
        for (ci, change) in list(entry, "changes").iter().enumerate() {
            if s(change, "field").is_some_and(|f| f != "messages") {
                continue;
            }
            let value = change.get("value").unwrap_or(&Value::Null);
            let Some(pnid) = value.get("metadata").and_then(|m| s(m, "phone_number_id")) else {
                out.skipped.push(format!(
                    "entry[{ei}].changes[{ci}]: no metadata.phone_number_id"
                ));
                continue;
            };
            let mut c = Change {
                phone_number_id: pnid.to_string(),
                ..Default::default()
            };
            let contacts = list(value, "contacts");
            for (mi, m) in list(value, "messages").iter().enumerate() {
                match read_message(m, contacts) {
                    Ok(msg) => c.messages.push(msg),
                    Err(why) => out
                        .skipped
                        .push(format!("entry[{ei}].changes[{ci}].messages[{mi}]: {why}")),
                }
            }
            for (si, st) in list(value, "statuses").iter().enumerate() {
                match read_status(st) {
                    Ok(x) => c.statuses.push(x),
                    Err(why) => out
                        .skipped
                        .push(format!("entry[{ei}].changes[{ci}].statuses[{si}]: {why}")),
                }
            }
            out.changes.push(c);
        }
    }
    Ok(out)
}

/// What kind of message this is, by its `type`.
fn kind_of(m: &Value) -> MessageKind {
    match s(m, "type").unwrap_or("unknown") {
        "text" => MessageKind::Text,
        "interactive" => match m.get("interactive").and_then(|i| i.get("button_reply")) {
            Some(r) => MessageKind::ButtonReply {
                id: s(r, "id").unwrap_or_default().to_string(),
                title: s(r, "title").unwrap_or_default().to_string(),
            },
            None => MessageKind::Other("interactive".into()),
        },
        "button" => {
            let b = m.get("button").unwrap_or(&Value::Null);
            MessageKind::TemplateButton {
                payload: s(b, "payload").unwrap_or_default().to_string(),
                text: s(b, "text").unwrap_or_default().to_string(),
            }
        }
        "unknown" | "unsupported" => MessageKind::Unknown {
            error_codes: list(m, "errors")
                .iter()
                .filter_map(|e| e.get("code").and_then(Value::as_i64))
                .collect(),
        },
        "system" => MessageKind::System,
        other => MessageKind::Other(other.to_string()),
    }
}

/// The contact that matches this sender: by wa_id, else by user_id, else the only one.
fn contact_of<'a>(
    contacts: &'a [Value],
    wa_id: Option<&str>,
    user_id: Option<&str>,
) -> Option<&'a Value> {
    let by = |field: &str, id: Option<&str>| {
        id.and_then(|id| contacts.iter().find(|c| s(c, field) == Some(id)))
    };
    by("wa_id", wa_id)
        .or_else(|| by("user_id", user_id))
        .or(if contacts.len() == 1 {
            contacts.first()
        } else {
            None
        })
}

fn read_message(m: &Value, contacts: &[Value]) -> Result<InboundMessage, &'static str> {
    let id = s(m, "id").ok_or("no id")?;
    let ts = timestamp(m).ok_or("no valid timestamp")?;
    let wa_id = s(m, "from").map(String::from);
    let user_id = s(m, "from_user_id").map(String::from);
    let kind = kind_of(m);
    if wa_id.is_none() && user_id.is_none() && kind != MessageKind::System {
        return Err("no sender (from or from_user_id)");
    }
    let contact = contact_of(contacts, wa_id.as_deref(), user_id.as_deref());
    let profile_name = contact
        .and_then(|c| c.get("profile"))
        .and_then(|p| s(p, "name"))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    let user_id = user_id.or_else(|| contact.and_then(|c| s(c, "user_id")).map(String::from));
    Ok(InboundMessage {
        id: id.to_string(),
        timestamp: ts,
        wa_id,
        user_id,
        profile_name,
        context_id: m.get("context").and_then(|c| s(c, "id")).map(String::from),
        kind,
    })
}

fn read_status(st: &Value) -> Result<StatusUpdate, &'static str> {
    let id = s(st, "id").ok_or("no id")?;
    let status = s(st, "status")
        .and_then(DeliveryStatus::parse)
        .ok_or("unknown status")?;
    let ts = timestamp(st).ok_or("no valid timestamp")?;
    let error = list(st, "errors").first().map(|e| DeliveryError {
        code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
        title: s(e, "title")
            .or_else(|| s(e, "message"))
            .unwrap_or("")
            .to_string(),
    });
    Ok(StatusUpdate {
        id: id.to_string(),
        status,
        timestamp: ts,
        recipient: s(st, "recipient_id")
            .or_else(|| s(st, "recipient_user_id"))
            .map(String::from),
        error,
        callback_data: s(st, "biz_opaque_callback_data").map(String::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wrap(value: Value) -> Vec<u8> {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [
            {"field": "messages", "value": value}]}]})
        .to_string()
        .into_bytes()
    }

    fn meta() -> Value {
        json!({"display_phone_number": "15550001111", "phone_number_id": "PN1"})
    }

    #[test]
    fn delivery_states_read_back_and_only_move_forward() {
        use DeliveryStatus::*;
        for st in [Accepted, Sent, Delivered, Read, Failed] {
            assert_eq!(DeliveryStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(Unknown.as_str(), "unknown");
        assert_eq!(DeliveryStatus::parse("unknown"), None, "never from Meta");
        assert_eq!(DeliveryStatus::parse("deleted"), None);
        let ranks: Vec<u8> = [Accepted, Sent, Delivered, Read, Failed]
            .iter()
            .map(|s| s.rank())
            .collect();
        assert_eq!(ranks, [0, 1, 2, 3, 4]);
        assert_eq!(Unknown.rank(), Accepted.rank());
        let went_out: Vec<bool> = [Unknown, Accepted, Sent, Delivered, Read, Failed]
            .iter()
            .map(|s| s.went_out())
            .collect();
        assert_eq!(went_out, [false, false, true, true, true, false]);
    }

    #[test]
    fn a_senders_name_comes_from_their_own_contact_entry() {
        let p = parse(&wrap(json!({"messaging_product": "whatsapp", "metadata": meta(),
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5511000000001"},
                         {"profile": {"name": "Bruno"}, "wa_id": "5511000000002"}],
            "messages": [
                {"from": "5511000000002", "id": "wamid.B", "timestamp": "1763688843", "type": "text", "text": {"body": "oi"}},
                {"from": "5511000000003", "id": "wamid.C", "timestamp": "1763688843", "type": "text", "text": {"body": "oi"}}]})))
        .unwrap();
        let names: Vec<Option<&str>> = p.changes[0]
            .messages
            .iter()
            .map(|m| m.profile_name.as_deref())
            .collect();
        // Bruno's own entry; nobody's for a sender with none among several.
        assert_eq!(names, [Some("Bruno"), None]);
    }

    #[test]
    fn text_message_with_profile_name() {
        let p = parse(&wrap(json!({"messaging_product": "whatsapp", "metadata": meta(),
            "contacts": [{"profile": {"name": "Maria"}, "wa_id": "5511999990000"}],
            "messages": [{"from": "5511999990000", "id": "wamid.A", "timestamp": "1763688843", "type": "text", "text": {"body": "oi"}}]})))
        .unwrap();
        let m = &p.changes[0].messages[0];
        assert_eq!(p.changes[0].phone_number_id, "PN1");
        assert_eq!(m.kind, MessageKind::Text);
        assert_eq!(m.profile_name.as_deref(), Some("Maria"));
        assert_eq!(m.customer(), Some("5511999990000"));
        assert_eq!(m.timestamp.timestamp(), 1763688843);
    }

    #[test]
    fn several_entries_changes_and_messages() {
        let change = |id: &str| {
            json!({"field": "messages", "value": {"metadata": meta(),
            "contacts": [{"wa_id": "1"}], "messages": [
                {"from": "1", "id": format!("{id}a"), "timestamp": "1763688843", "type": "text"},
                {"from": "1", "id": format!("{id}b"), "timestamp": 1763688844, "type": "image"}]}})
        };
        let body =
            json!({"entry": [{"changes": [change("x"), change("y")]}, {"changes": [change("z")]}]});
        let p = parse(body.to_string().as_bytes()).unwrap();
        let ids: Vec<&str> = p
            .changes
            .iter()
            .flat_map(|c| c.messages.iter().map(|m| m.id.as_str()))
            .collect();
        assert_eq!(ids, ["xa", "xb", "ya", "yb", "za", "zb"]);
        assert_eq!(
            p.changes[0].messages[1].kind,
            MessageKind::Other("image".into())
        );
    }

    #[test]
    fn button_reply_with_context() {
        let p = parse(&wrap(json!({"metadata": meta(), "contacts": [{"wa_id": "1", "profile": {"name": "A"}}],
            "messages": [{"from": "1", "id": "wamid.B", "timestamp": "1763688810", "type": "interactive",
              "context": {"from": "PN1", "id": "wamid.PROMPT"},
              "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}}]})))
        .unwrap();
        let m = &p.changes[0].messages[0];
        assert_eq!(m.context_id.as_deref(), Some("wamid.PROMPT"));
        assert_eq!(
            m.kind,
            MessageKind::ButtonReply {
                id: "yes".into(),
                title: "Yes".into()
            }
        );
    }

    #[test]
    fn template_quick_reply_button() {
        let p = parse(&wrap(
            json!({"metadata": meta(), "contacts": [{"wa_id": "1"}],
            "messages": [{"from": "1", "id": "w", "timestamp": "1763688810", "type": "button",
              "context": {"id": "wamid.T"}, "button": {"payload": "STOP", "text": "Stop"}}]}),
        ))
        .unwrap();
        assert_eq!(
            p.changes[0].messages[0].kind,
            MessageKind::TemplateButton {
                payload: "STOP".into(),
                text: "Stop".into()
            }
        );
    }

    #[test]
    fn unknown_type_with_errors_still_counts() {
        let p = parse(&wrap(
            json!({"metadata": meta(), "contacts": [{"wa_id": "1"}],
            "messages": [{"from": "1", "id": "w", "timestamp": "1763688810", "type": "unknown",
              "errors": [{"code": 131051, "title": "Message type unknown"}]}]}),
        ))
        .unwrap();
        assert_eq!(
            p.changes[0].messages[0].kind,
            MessageKind::Unknown {
                error_codes: vec![131051]
            }
        );
        assert_eq!(p.changes[0].messages[0].profile_name, None);
    }

    #[test]
    fn system_message_without_contacts() {
        let p = parse(&wrap(json!({"metadata": meta(),
            "messages": [{"from": "1", "id": "w", "timestamp": "1763688810", "type": "system",
              "system": {"body": "changed number", "type": "user_changed_number"}}]})))
        .unwrap();
        assert_eq!(p.changes[0].messages[0].kind, MessageKind::System);
    }

    #[test]
    fn business_scoped_ids_with_and_without_phone() {
        let p = parse(&wrap(json!({"metadata": meta(),
            "contacts": [{"user_id": "BR.123", "profile": {"name": "Hidden"}}, {"wa_id": "2", "user_id": "BR.456"}],
            "messages": [
              {"from_user_id": "BR.123", "id": "w1", "timestamp": "1763688810", "type": "text"},
              {"from": "2", "from_user_id": "BR.456", "id": "w2", "timestamp": "1763688811", "type": "text"}]})))
        .unwrap();
        let m = &p.changes[0].messages;
        assert_eq!(m[0].wa_id, None);
        assert_eq!(m[0].customer(), Some("BR.123"));
        assert_eq!(m[0].profile_name.as_deref(), Some("Hidden"));
        assert_eq!(m[1].customer(), Some("2"));
        assert_eq!(m[1].user_id.as_deref(), Some("BR.456"));
    }

    #[test]
    fn statuses_with_errors() {
        let p = parse(&wrap(json!({"metadata": meta(), "statuses": [
            {"id": "wamid.S", "status": "delivered", "timestamp": "1763688820", "recipient_id": "1"},
            {"id": "wamid.F", "status": "failed", "timestamp": "1763688821", "recipient_id": "1",
             "errors": [{"code": 131047, "title": "Re-engagement message"}]},
            {"id": "wamid.X", "status": "deleted", "timestamp": "1763688821"}]})))
        .unwrap();
        let s = &p.changes[0].statuses;
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].status, DeliveryStatus::Delivered);
        assert_eq!(
            s[1].error,
            Some(DeliveryError {
                code: 131047,
                title: "Re-engagement message".into()
            })
        );
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn wrong_types_skip_the_item_not_the_post() {
        let p = parse(&wrap(json!({"metadata": meta(), "messages": [
            {"from": "1", "id": 5, "timestamp": "1763688810", "type": "text"},
            {"from": "1", "id": "ok", "timestamp": "x", "type": "text"},
            {"id": "nobody", "timestamp": "1763688810", "type": "text"},
            {"from": "1", "id": "good", "timestamp": "1763688810", "type": "text", "extra": {"unknown": true}}]})))
        .unwrap();
        assert_eq!(p.changes[0].messages.len(), 1);
        assert_eq!(p.skipped.len(), 3);
    }

    #[test]
    fn timestamps_out_of_range_are_refused() {
        let p = parse(&wrap(json!({"metadata": meta(), "messages": [
            {"from": "1", "id": "a", "timestamp": "9223372036854775807", "type": "text"},
            {"from": "1", "id": "b", "timestamp": "-5", "type": "text"},
            {"from": "1", "id": "c", "timestamp": "100", "type": "text"}]})))
        .unwrap();
        assert!(p.changes[0].messages.is_empty());
        assert_eq!(p.skipped.len(), 3);
    }

    #[test]
    fn what_is_not_a_webhook_is_an_error() {
        assert!(matches!(parse(b"{not json"), Err(PayloadError::NotJson(_))));
        assert!(matches!(parse(b"[1]"), Err(PayloadError::NotAWebhook(_))));
        assert!(matches!(parse(b"{}"), Err(PayloadError::NotAWebhook(_))));
        assert!(matches!(
            parse(br#"{"entry": 3}"#),
            Err(PayloadError::NotAWebhook(_))
        ));
        assert_eq!(parse(br#"{"entry": []}"#).unwrap(), Payload::default());
    }

    #[test]
    fn other_fields_are_ignored() {
        let body =
            json!({"entry": [{"changes": [{"field": "account_update", "value": {"x": 1}}]}]});
        assert!(parse(body.to_string().as_bytes())
            .unwrap()
            .changes
            .is_empty());
    }

    proptest::proptest! {
        #[test]
        fn no_byte_string_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn no_json_shape_panics(s in "\\{\"entry\":\\[\\{\"changes\":\\[\\{\"value\":\\{\"metadata\":\\{\"phone_number_id\":\"p\"\\},\"messages\":\\[\\{[a-z\":,0-9\\[\\]{}]{0,80}\\}\\]\\}\\}\\]\\}\\]\\}") {
            let _ = parse(s.as_bytes());
        }
    }
}
