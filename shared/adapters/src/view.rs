//! The JSON the desk sees of a record, times in the tenant's zone.

use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::cap::{local_iso, QuotaView};
use afterhours_rules::display;
use afterhours_rules::webhook::DeliveryStatus;
use chrono::Duration;
use chrono_tz::Tz;
use serde::Serialize;

use crate::i18n::{meta_sentence, Lang};
use crate::model::{ContactRecord, TemplateRef};

/// One item of `GET /contacts` (and the body of `GET /contacts/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub id: String,
    pub agent_id: String,
    pub contact_date: String,
    pub contact_time: String,
    pub name: Option<String>,
    pub display_name: String,
    pub contact: String,
    /// The phone number id the customer wrote to (the send goes out from it).
    pub channel: String,
    pub requested_callback: RequestedCallback,
    pub message_sent: bool,
    pub message_count: i64,
    pub last_message_at: String,
    pub expires_at: String,
    pub service_window_closes_at: String,
    pub sent_at: Option<String>,
    pub sent_by: Option<String>,
    pub template: Option<TemplateRef>,
    pub message_id: Option<String>,
    pub delivery: Option<DeliveryView>,
    pub handled: Option<HandledView>,
    pub quota: Option<QuotaView>,
}

/// Who marked the record handled, when, and their note.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandledView {
    pub by: String,
    pub at: String,
    pub note: Option<String>,
}

/// Why WhatsApp failed a message: Meta's code and a plain sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryErrorView {
    pub code: i64,
    pub message: String,
}

/// Where the record's active message stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub status: DeliveryStatus,
    pub at: String,
    /// A failure's code and its explanation in the request's language.
    pub error: Option<DeliveryErrorView>,
    /// Meta's code and title as Meta sent them.
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
}

/// A record as the desk shows it, with the caller's quota (`None` when the
/// cap is off), its sentences in `lang`.
pub fn record_view(r: &ContactRecord, tz: Tz, lang: Lang, quota: Option<QuotaView>) -> RecordView {
    RecordView {
        id: r.key.id(),
        agent_id: r.key.agent.clone(),
        contact_date: local_iso(r.first_at, tz),
        contact_time: r.first_at.with_timezone(&tz).format("%H:%M").to_string(),
        name: r.name.clone(),
        display_name: display::display_name(r.name.as_deref()),
        contact: display::contact(r.wa_id.as_deref(), r.user_id.as_deref()),
        channel: r.channel.clone(),
        requested_callback: r.requested_callback,
        message_sent: r.message_sent,
        message_count: r.message_count,
        last_message_at: local_iso(r.last_at, tz),
        expires_at: local_iso(r.expires_at, tz),
        service_window_closes_at: local_iso(r.last_at + Duration::hours(24), tz),
        sent_at: r.sent_at.map(|t| local_iso(t, tz)),
        sent_by: r.sent_by.clone(),
        template: r.sent_template.clone(),
        message_id: r.sent_wamid.clone(),
        delivery: r.delivery.as_ref().map(|d| DeliveryView {
            status: d.status,
            at: local_iso(d.at, tz),
            error: d.error.as_ref().map(|e| DeliveryErrorView {
                code: e.code,
                message: meta_sentence(e.code, lang).to_string(),
            }),
            error_code: d.error.as_ref().map(|e| e.code),
            error_title: d.error.as_ref().map(|e| e.title.clone()),
        }),
        handled: r.handled.as_ref().map(|h| HandledView {
            by: h.by.clone(),
            at: local_iso(h.at, tz),
            note: h.note.clone(),
        }),
        quota,
    }
}
