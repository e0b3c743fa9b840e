//! The Graph call and what its outcome does: sent → the record is
//! marked and the event published; a clear refusal, or a request that never
//! left → 502 and the cap slot given back; no usable answer → 504, the slot
//! kept (WhatsApp may have the message) and the record `unknown` until a
//! status with the send's tag settles it. Whatever the outcome, the answer is
//! stored under the `Idempotency-Key`, so a retry never sends again.

use afterhours_adapters::error_code::ErrorCode;
use afterhours_adapters::events::Event;
use afterhours_adapters::graph::GraphError;
use afterhours_adapters::http::StatusCode;
use afterhours_adapters::http::{ApiError, ApiResponse, Caller};
use afterhours_adapters::i18n::Lang;
use afterhours_adapters::metrics::{emit_dimensioned, Counts};
use afterhours_adapters::model::{
    ContactRecord, DirectSend, SendTag, SendTarget, SentMessage, StoredResponse, TemplateRef,
    UnknownSend,
};
use afterhours_adapters::store::{Counter, Slot};
use afterhours_rules::cap::local_iso;
use afterhours_rules::display::mask;
use afterhours_rules::settings::TenantRules;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::deps::Deps;
use crate::request::SendResponse;

/// The `DetailType` of the event a successful send puts on the bus.
pub const SENT_DETAIL_TYPE: &str = "ActiveMessageSent";

/// A send that passed every check before the cap: the record (none for a
/// direct send), the channel, the rules in force, the template and the
/// Graph message to send.
pub struct PreparedSend {
    pub record: Option<ContactRecord>,
    /// The phone number id that sends.
    pub channel: String,
    pub rules: TenantRules,
    pub template: TemplateRef,
    /// Who the message goes to: the phone, else the business-scoped id.
    pub to: String,
    /// Meta's template components with the variables (and header media) filled.
    pub components: Vec<Value>,
    /// The sender's cap counter as the check read it (taken by the reservation).
    pub counter: Option<Counter>,
}

/// One send on its way out: who, to which target, and its cap slot.
pub struct Attempt<'a> {
    pub caller: &'a Caller,
    pub target: &'a SendTarget,
    pub prepared: PreparedSend,
    /// The cap slot it holds; `None` when the cap is off.
    pub slot: Option<Slot>,
    /// The send's id, in its tag: its slot's token, else a fresh one.
    pub id: String,
    pub idempotency: Option<&'a str>,
    pub now: DateTime<Utc>,
    /// The language of the answer's message (stored with it for retries).
    pub lang: Lang,
}

impl<'a> Attempt<'a> {
    pub fn new(
        caller: &'a Caller,
        target: &'a SendTarget,
        prepared: PreparedSend,
        slot: Option<Slot>,
        idempotency: Option<&'a str>,
        now: DateTime<Utc>,
        lang: Lang,
    ) -> Self {
        let id = match &slot {
            Some(s) => s.token.clone(),
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        Attempt {
            caller,
            target,
            prepared,
            slot,
            id,
            idempotency,
            now,
            lang,
        }
    }

    /// Meta's template message, tagged so its statuses name this send.
    pub fn message(&self) -> Value {
        let c = &self.prepared;
        let (record, customer) = match self.target {
            SendTarget::Record(k) => (k.id(), None),
            SendTarget::Direct { customer, .. } => (String::new(), Some(customer.clone())),
        };
        let tag = SendTag {
            version: 1,
            record,
            sender: self.caller.agent.clone(),
            send_id: self.id.clone(),
            template: Some(c.template.clone()),
            customer,
            sent_at: Some(self.now.timestamp()),
        };
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": c.to,
            "type": "template",
            "template": {
                "name": c.template.name,
                "language": {"code": c.template.language},
                "components": c.components,
            },
            "biz_opaque_callback_data": tag.encode(),
        })
    }

    fn stored<'b>(&'b self, status: u16, body: &'b str) -> Option<StoredResponse<'b>> {
        self.idempotency
            .map(|pk| StoredResponse { pk, status, body })
    }
}

/// Sends and settles; the answer is final (200, 502 or 504) and stored under the key.
pub async fn deliver(deps: &Deps, a: &Attempt<'_>) -> ApiResponse {
    let customer = mask(a.target.customer());
    match deps.graph.send(&a.prepared.channel, &a.message()).await {
        Ok(wamid) => {
            Counts::new().add("ActiveMessagesSent", 1).emit();
            sent(deps, a, &wamid).await
        }
        Err(e @ GraphError::Unknown(_)) => {
            tracing::warn!(%customer, error = %e, "active message outcome unknown; its slot stays counted");
            Counts::new().add("UnknownOutcomes", 1).emit();
            unknown(deps, a, graph_error(e)).await
        }
        Err(e) => {
            tracing::warn!(%customer, error = %e, "active message not sent");
            let code = match &e {
                GraphError::Rejected { code, .. } => code.to_string(),
                _ => "unreachable".to_string(),
            };
            emit_dimensioned("GraphErrors", "MetaCode", &code, 1);
            refused(deps, a, graph_error(e)).await
        }
    }
}

async fn sent(deps: &Deps, a: &Attempt<'_>, wamid: &str) -> ApiResponse {
    let tz = a.prepared.rules.tz();
    let response = SendResponse {
        message_id: wamid.to_string(),
        sent_at: local_iso(a.now, tz),
        quota: a.slot.as_ref().map(|s| s.quota_after.view(tz)),
    };
    let body = serde_json::to_string(&response).unwrap_or_default();
    let marked = match a.target {
        SendTarget::Record(key) => deps
            .store
            .mark_sent(&SentMessage {
                key,
                sender: &a.caller.agent,
                send_id: &a.id,
                template: &a.prepared.template,
                wamid,
                at: a.now,
                idempotency: a.stored(200, &body),
            })
            .await
            .map(|_| ()),
        SendTarget::Direct { customer, .. } => {
            let send = DirectSend {
                tenant: &a.caller.tenant,
                customer,
                sender: &a.caller.agent,
                wamid,
                sent_at: a.now,
                at: a.now,
            };
            deps.store
                .direct_sent(&send, a.stored(200, &body).as_ref())
                .await
        }
    };
    if let Err(e) = marked {
        // The message went out. Keep the key's answer at least, so a retry replays it.
        tracing::error!(error = %e, wamid = %wamid, "active message sent but the record could not be marked");
        if let Some(r) = a.stored(200, &body) {
            if let Err(e) = deps.store.complete_idempotency(&r).await {
                tracing::error!(error = %e, "the sent answer could not be stored under its key");
            }
        }
    }
    publish_sent(deps, a, wamid).await;
    ApiResponse::json(StatusCode::OK, &response)
}

async fn unknown(deps: &Deps, a: &Attempt<'_>, e: ApiError) -> ApiResponse {
    let r = e.to_response_in(a.lang);
    let marked = match (a.target, a.stored(r.status.as_u16(), &r.body)) {
        (SendTarget::Record(key), idempotency) => {
            deps.store
                .mark_unknown(&UnknownSend {
                    key,
                    send_id: &a.id,
                    at: a.now,
                    idempotency,
                })
                .await
        }
        // No record to mark: the slot stays counted, the answer is kept for retries.
        (SendTarget::Direct { .. }, Some(stored)) => deps.store.complete_idempotency(&stored).await,
        (SendTarget::Direct { .. }, None) => Ok(()),
    };
    if let Err(e) = marked {
        tracing::error!(error = %e, "the unknown outcome could not be stored");
    }
    r
}

async fn refused(deps: &Deps, a: &Attempt<'_>, e: ApiError) -> ApiResponse {
    if a.slot.is_some() {
        let released = deps
            .store
            .release(
                &a.caller.tenant,
                &a.caller.agent,
                a.target.customer(),
                &a.id,
            )
            .await;
        if let Err(err) = released {
            tracing::error!(error = %err, "could not give a cap slot back");
        }
    }
    let r = e.to_response_in(a.lang);
    if let Some(stored) = a.stored(r.status.as_u16(), &r.body) {
        if let Err(err) = deps.store.complete_idempotency(&stored).await {
            tracing::error!(error = %err, "the refusal could not be stored under its key");
        }
    }
    r
}

/// Meta's refusal → 502 with its code and a plain explanation; a lost answer
/// → 504 `whatsapp_outcome_unknown`; a request that never left → 502.
pub fn graph_error(e: GraphError) -> ApiError {
    ApiError::from_graph(
        e,
        ErrorCode::WhatsappOutcomeUnknown,
        "WhatsApp's answer was lost: the message may have gone out. It still counts against the limit; the contact shows the outcome once WhatsApp reports it.",
        "WhatsApp could not be reached; nothing was sent. Try again shortly.",
    )
}

async fn publish_sent(deps: &Deps, a: &Attempt<'_>, wamid: &str) {
    let record = a.prepared.record.as_ref();
    let contact = match record {
        Some(r) => afterhours_rules::display::contact(r.wa_id.as_deref(), r.user_id.as_deref()),
        None => afterhours_rules::display::contact(
            Some(a.target.customer()).filter(|c| c.bytes().all(|b| b.is_ascii_digit())),
            Some(a.target.customer()),
        ),
    };
    let event = Event {
        detail_type: SENT_DETAIL_TYPE.into(),
        detail: json!({
            "tenantId": a.caller.tenant,
            "agentId": a.caller.agent,
            "recordId": record.map(|r| r.key.id()),
            "recordAgentId": record.map(|r| &r.key.agent),
            "channel": a.prepared.channel,
            "contact": contact,
            "template": a.prepared.template,
            "messageId": wamid,
            "sentAt": a.now.to_rfc3339(),
        }),
    };
    let outcome = deps.events.publish(&[event]).await;
    if !outcome.failed.is_empty() {
        tracing::error!(failed = ?outcome.failed, "ActiveMessageSent not published (the send itself succeeded)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metas_refusal_becomes_502_with_a_plain_explanation() {
        let e = graph_error(GraphError::Rejected {
            http_status: 400,
            code: 131047,
            title: "Re-engagement message".into(),
            details: None,
        });
        let r = e.to_response();
        assert_eq!(r.status.as_u16(), 502);
        let b = r.json_body();
        assert_eq!(b["error"]["code"], "whatsapp_rejected");
        assert_eq!(b["error"]["whatsappCode"], 131047);
        assert!(b["error"]["message"].as_str().unwrap().contains("24 hours"));
    }

    #[test]
    fn a_lost_answer_is_504_outcome_unknown_and_a_refused_connection_502() {
        let e = graph_error(GraphError::Unknown("timed out".into()));
        assert_eq!(
            (e.status().as_u16(), e.code()),
            (504, "whatsapp_outcome_unknown")
        );
        let e = graph_error(GraphError::NotSent("connection refused".into()));
        assert_eq!(
            (e.status().as_u16(), e.code()),
            (502, "whatsapp_unreachable")
        );
    }
}
