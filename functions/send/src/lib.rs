//! `POST /contacts/{id}/active-messages`: an agent reaches a customer back with
//! an approved template, within the rolling-24h cap, at most once per
//! `Idempotency-Key`.
//!
//! Checks in SPEC order: who may act on the record (403) → the record exists
//! and is live (404) → the template is APPROVED (422) → the variables (422) →
//! the cap (429) → the Graph API call (502/504) → the record marked sent and
//! `ActiveMessageSent` on the bus.

use afterhours_adapters::boot::Boot;
use afterhours_adapters::config::ConfigError;
use afterhours_adapters::events::{Event, Publisher};
use afterhours_adapters::graph::{GraphClient, GraphError};
use afterhours_adapters::http::{respond, ApiError, ApiRequest, ApiResponse, Caller};
use afterhours_adapters::lambda::{system_clock, Clock};
use afterhours_adapters::model::{
    ContactRecord, RecordKey, SentMessage, StoredResponse, TemplateRef,
};
use afterhours_adapters::store::{IdempotencyClaim, Reservation, Slot, Store};
use afterhours_adapters::tenant::{rules_of, templates_of};
use afterhours_rules::cap::{local_iso, refusal_message, QuotaView};
use afterhours_rules::display::mask;
use afterhours_rules::settings::TenantRules;
use afterhours_rules::templates::Template;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The `DetailType` of the event a successful send puts on the bus.
pub const SENT_DETAIL_TYPE: &str = "ActiveMessageSent";
/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

pub struct Deps {
    pub store: Store,
    pub graph: GraphClient,
    pub events: Publisher,
    pub clock: Clock,
}

impl Deps {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let (boot, graph) = Boot::load_with_graph().await?;
        Ok(Deps {
            graph,
            events: boot.publisher(),
            store: boot.store,
            clock: system_clock(),
        })
    }
}

pub async fn handle(deps: &Deps, req: ApiRequest) -> ApiResponse {
    respond(send(deps, &req).await)
}

/// The request body as it comes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SendBody {
    pub template: TemplateBody,
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemplateBody {
    pub name: String,
    pub language: String,
}

/// The request, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    pub template: String,
    pub language: String,
    pub variables: Map<String, Value>,
}

/// The answer to a send that went out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    pub message_id: String,
    pub sent_at: String,
    pub quota: Option<QuotaView>,
}

fn invalid_request(message: &str) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_request",
        message: message.to_string(),
    }
}

/// Reads the body strictly: a template with a name and language, variables as an object.
pub fn parse_body(body: &Value) -> Result<SendRequest, ApiError> {
    if body.get("template").is_none() {
        return Err(invalid_request(
            "The body needs \"template\": {\"name\", \"language\"}.",
        ));
    }
    if !matches!(
        body.get("variables"),
        None | Some(Value::Null | Value::Object(_))
    ) {
        return Err(invalid_request(
            "variables must be an object of name to text.",
        ));
    }
    let parsed: SendBody = serde_json::from_value(body.clone()).map_err(|_| {
        invalid_request("template.name and template.language must be non-empty text.")
    })?;
    let TemplateBody { name, language } = parsed.template;
    if name.trim().is_empty() || language.trim().is_empty() {
        return Err(invalid_request(
            "template.name and template.language must be non-empty text.",
        ));
    }
    Ok(SendRequest {
        template: name,
        language,
        variables: parsed.variables.unwrap_or_default(),
    })
}

/// What an `Idempotency-Key` lets this request do.
enum KeyClaim {
    /// Go ahead; the key's item (if a key was given) is held for this request.
    Proceed(Option<String>),
    /// The key already has a final answer: replay it.
    Replay(ApiResponse),
}

/// Claims the request's `Idempotency-Key`, if it has one. The key is bound to
/// the record and the body, so the same key with another request is refused.
async fn claim_key(
    deps: &Deps,
    req: &ApiRequest,
    caller: &Caller,
    key: &RecordKey,
    body: &Value,
) -> Result<KeyClaim, ApiError> {
    let Some(k) = req
        .header("idempotency-key")
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        return Ok(KeyClaim::Proceed(None));
    };
    if k.len() > MAX_IDEMPOTENCY_KEY {
        return Err(ApiError::BadRequest {
            code: "invalid_idempotency_key",
            message: format!("Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters."),
        });
    }
    let pk = Store::idempotency_pk(&caller.tenant, &caller.agent, k);
    let hash = hex::encode(Sha256::digest(format!("{}\n{}", key.id(), body).as_bytes()));
    match deps
        .store
        .claim_idempotency(&pk, &hash, (deps.clock)())
        .await?
    {
        IdempotencyClaim::Claimed => Ok(KeyClaim::Proceed(Some(pk))),
        IdempotencyClaim::Done { status, body } => {
            let stored: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let mut r = ApiResponse::json(status, &stored);
            r.headers.push(("idempotent-replay".into(), "true".into()));
            Ok(KeyClaim::Replay(r))
        }
        IdempotencyClaim::InProgress => Err(ApiError::Conflict {
            code: "idempotency_in_progress",
            message: "A request with this Idempotency-Key is still being processed; retry shortly."
                .into(),
        }),
        IdempotencyClaim::Mismatch => Err(ApiError::Conflict {
            code: "idempotency_key_reused",
            message: "This Idempotency-Key was already used with a different request.".into(),
        }),
    }
}

async fn send(deps: &Deps, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let caller = Caller::from_claims(&req.claims)?;
    let not_found = || ApiError::NotFound("No such contact (it may have expired).".into());
    let key = req
        .path_param("id")
        .and_then(|id| RecordKey::from_id(&caller.tenant, id))
        .ok_or_else(not_found)?;
    if !caller.may_act_for(&key.agent) {
        return Err(ApiError::Forbidden(
            "Only the contact's own agent, a supervisor or an admin can send to this customer."
                .into(),
        ));
    }
    let body = req.json_body()?;
    let request = parse_body(&body)?;
    let idempotency = match claim_key(deps, req, &caller, &key, &body).await? {
        KeyClaim::Replay(r) => return Ok(r),
        KeyClaim::Proceed(pk) => pk,
    };
    let result = send_claimed(deps, &caller, &key, &request, idempotency.as_deref()).await;
    if let (Err(_), Some(pk)) = (&result, &idempotency) {
        // A refused or failed request leaves the key free: a retry is judged afresh.
        if let Err(e) = deps.store.drop_idempotency(pk).await {
            tracing::error!(error = %e, "could not free an idempotency key");
        }
    }
    result
}

fn find_template<'a>(templates: &'a [Template], r: &SendRequest) -> Result<&'a Template, ApiError> {
    templates
        .iter()
        .find(|t| t.name == r.template && t.language == r.language && t.is_approved())
        .ok_or_else(|| {
            let status = templates
                .iter()
                .find(|t| t.name == r.template && t.language == r.language)
                .map(|t| t.status.clone());
            let message = match status {
                Some(s) => format!(
                    "Template {} ({}) is {s}, not APPROVED; it cannot be sent.",
                    r.template, r.language
                ),
                None => format!(
                    "Template {} ({}) is not among this tenant's approved templates.",
                    r.template, r.language
                ),
            };
            ApiError::Unprocessable {
                code: "template_not_approved",
                message,
                details: json!({"template": {"name": r.template, "language": r.language}}),
            }
        })
}

/// A send that passed every check before the cap: the record, the rules in
/// force, the template and the Graph message to send.
struct Checked {
    record: ContactRecord,
    rules: TenantRules,
    template: TemplateRef,
    message: Value,
    counter: Option<afterhours_adapters::store::Counter>,
}

/// Reads what the send needs (one batch read) and checks the record, the
/// template and the variables, in SPEC order.
async fn check(
    deps: &Deps,
    caller: &Caller,
    key: &RecordKey,
    request: &SendRequest,
    now: DateTime<Utc>,
) -> Result<Checked, ApiError> {
    let ctx = deps.store.send_context(key, &caller.agent, now).await?;
    let record = ctx
        .record
        .ok_or_else(|| ApiError::NotFound("No such contact (it may have expired).".into()))?;
    let rules = rules_of(ctx.settings.as_ref());
    let templates = templates_of(ctx.templates.as_ref());
    let template = find_template(&templates, request)?;
    let values = template
        .validate_variables(&request.variables)
        .map_err(|errors| ApiError::Unprocessable {
            code: "template_variables_invalid",
            message: format!(
                "{} variable(s) of template {} are not valid.",
                errors.len(),
                template.name
            ),
            details: json!({ "details": errors }),
        })?;
    let message = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": record.wa_id.clone().or(record.user_id.clone()).unwrap_or_else(|| key.customer.clone()),
        "type": "template",
        "template": {
            "name": template.name,
            "language": {"code": template.language},
            "components": template.send_components(&values),
        }
    });
    Ok(Checked {
        template: TemplateRef {
            name: template.name.clone(),
            language: template.language.clone(),
        },
        record,
        rules,
        message,
        counter: ctx.counter,
    })
}

/// Takes one slot of the sender's cap for this customer (`None` when the cap
/// is off); over the cap, the 429 with when it becomes possible again.
async fn reserve_slot(
    deps: &Deps,
    caller: &Caller,
    key: &RecordKey,
    c: &mut Checked,
    now: DateTime<Utc>,
) -> Result<Option<Slot>, ApiError> {
    let Some(limit) = c.rules.cap() else {
        return Ok(None);
    };
    let reservation = deps
        .store
        .reserve(
            &key.tenant,
            &caller.agent,
            &key.customer,
            limit,
            now,
            c.counter.take(),
        )
        .await?;
    match reservation {
        Reservation::Granted(slot) => Ok(Some(slot)),
        Reservation::Refused(q) => {
            let tz = c.rules.tz();
            let view = q.view(tz);
            let mut details = Map::new();
            details.insert("availableAt".into(), json!(view.available_at));
            details.insert("retryAfterSeconds".into(), json!(view.retry_after_seconds));
            details.insert("quota".into(), json!(view));
            Err(ApiError::TooManyRequests {
                code: "active_message_limit_reached",
                message: refusal_message(&q, now, tz),
                retry_after_seconds: q.retry_after_seconds,
                details,
            })
        }
    }
}

/// The Graph call; a send that did not go out gives its slot back.
async fn deliver(
    deps: &Deps,
    caller: &Caller,
    key: &RecordKey,
    c: &Checked,
    slot: Option<&Slot>,
) -> Result<String, ApiError> {
    match deps.graph.send(&c.record.channel, &c.message).await {
        Ok(wamid) => Ok(wamid),
        Err(e) => {
            if let Some(slot) = slot {
                let released = deps
                    .store
                    .release(&key.tenant, &caller.agent, &key.customer, &slot.token)
                    .await;
                if let Err(err) = released {
                    tracing::error!(error = %err, "could not give a cap slot back");
                }
            }
            tracing::warn!(customer = %mask(&key.customer), error = %e, "active message not sent");
            Err(graph_error(e))
        }
    }
}

async fn send_claimed(
    deps: &Deps,
    caller: &Caller,
    key: &RecordKey,
    request: &SendRequest,
    idempotency: Option<&str>,
) -> Result<ApiResponse, ApiError> {
    let now = (deps.clock)();
    let mut checked = check(deps, caller, key, request, now).await?;
    let slot = reserve_slot(deps, caller, key, &mut checked, now).await?;
    let wamid = deliver(deps, caller, key, &checked, slot.as_ref()).await?;
    let tz = checked.rules.tz();
    let response = SendResponse {
        message_id: wamid.clone(),
        sent_at: local_iso(now, tz),
        quota: slot.map(|s| s.quota_after.view(tz)),
    };
    let body = serde_json::to_string(&response).unwrap_or_default();
    let sent = SentMessage {
        key,
        sender: &caller.agent,
        template: &checked.template,
        wamid: &wamid,
        at: now,
        idempotency: idempotency.map(|pk| StoredResponse {
            pk,
            status: 200,
            body: &body,
        }),
    };
    if let Err(e) = deps.store.mark_sent(&sent).await {
        // The message went out; the record could not be marked. Say so loudly, but do not
        // tell the agent it failed (a retry would message the customer twice).
        tracing::error!(error = %e, wamid = %wamid, "active message sent but the record could not be marked");
    }
    publish_sent(deps, caller, &checked, &wamid, now).await;
    Ok(ApiResponse::json(200, &response))
}

/// Meta's refusal → 502 with its code and a plain explanation; no answer → 504.
pub fn graph_error(e: GraphError) -> ApiError {
    afterhours_adapters::graph::api_error(
        e,
        "WhatsApp did not answer in time. The message may not have gone out; check the conversation before trying again.",
        "WhatsApp could not be reached; nothing was sent. Try again shortly.",
    )
}

async fn publish_sent(deps: &Deps, caller: &Caller, c: &Checked, wamid: &str, now: DateTime<Utc>) {
    let record = &c.record;
    let event = Event {
        detail_type: SENT_DETAIL_TYPE.into(),
        detail: json!({
            "tenantId": caller.tenant,
            "agentId": caller.agent,
            "recordId": record.key.id(),
            "recordAgentId": record.key.agent,
            "contact": afterhours_rules::display::contact(record.wa_id.as_deref(), record.user_id.as_deref()),
            "template": c.template,
            "messageId": wamid,
            "sentAt": now.to_rfc3339(),
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
    fn the_body_is_read_strictly() {
        assert!(parse_body(&json!({"template": {"name": "x", "language": "pt_BR"}})).is_ok());
        for bad in [
            json!({}),
            json!({"template": {"name": ""}}),
            json!({"template": {"name": "x", "language": 3}}),
            json!({"template": {"name": "x", "language": "pt_BR"}, "variables": [1]}),
        ] {
            assert_eq!(
                parse_body(&bad).unwrap_err().code(),
                "invalid_request",
                "{bad}"
            );
        }
    }

    #[test]
    fn metas_refusal_becomes_502_with_a_plain_explanation() {
        let e = graph_error(GraphError::Rejected {
            http_status: 400,
            code: 131047,
            title: "Re-engagement message".into(),
            details: None,
        });
        let r = e.to_response();
        assert_eq!(r.status, 502);
        let b = r.json_body();
        assert_eq!(b["error"]["code"], "whatsapp_rejected");
        assert_eq!(b["error"]["whatsappCode"], 131047);
        assert!(b["error"]["message"].as_str().unwrap().contains("24 hours"));
        assert_eq!(graph_error(GraphError::Timeout).status(), 504);
    }
}
