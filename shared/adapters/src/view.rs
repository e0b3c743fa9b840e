//! The JSON the desk sees of a record (SPEC §5), times in the tenant's zone.

use afterhours_rules::cap::{local_iso, QuotaView};
use afterhours_rules::display;
use chrono::Duration;
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::model::ContactRecord;

/// One item of `GET /contacts` (and `GET /contacts/{id}`).
pub fn record_view(r: &ContactRecord, tz: Tz, quota: Option<QuotaView>) -> Value {
    let local = r.first_at.with_timezone(&tz);
    json!({
        "id": r.key.id(),
        "agentId": r.key.agent,
        "contactDate": local_iso(r.first_at, tz),
        "contactTime": local.format("%H:%M").to_string(),
        "name": r.name,
        "displayName": display::display_name(r.name.as_deref()),
        "contact": display::contact(r.wa_id.as_deref(), r.user_id.as_deref()),
        "requestedCallback": r.requested_callback,
        "messageSent": r.message_sent,
        "messageCount": r.message_count,
        "lastMessageAt": local_iso(r.last_at, tz),
        "expiresAt": local_iso(r.expires_at, tz),
        "serviceWindowClosesAt": local_iso(r.last_at + Duration::hours(24), tz),
        "sentAt": r.sent_at.map(|t| local_iso(t, tz)),
        "sentBy": r.sent_by,
        "template": r.sent_template.as_ref().map(|(name, language)| json!({"name": name, "language": language})),
        "messageId": r.sent_wamid,
        "delivery": r.delivery.as_ref().map(|d| json!({
            "status": d.status,
            "at": local_iso(d.at, tz),
            "errorCode": d.error.as_ref().map(|e| e.0),
            "errorTitle": d.error.as_ref().map(|e| e.1.clone()),
        })),
        "quota": quota,
    })
}
