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
use afterhours_adapters::model::{ContactRecord, RecordKey};
use afterhours_adapters::store::{IdempotencyClaim, Slot, Store, StoreError};
use afterhours_adapters::tenant::{rules_of, templates_of};
use afterhours_rules::cap::{local_iso, refusal_message};
use afterhours_rules::display::mask;
use afterhours_rules::templates::Template;
use chrono::{DateTime, Utc};
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

fn storage(e: StoreError) -> ApiError {
    ApiError::storage(e)
}

/// The request body, read strictly.
#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    pub template: String,
    pub language: String,
    pub variables: Map<String, Value>,
}

pub fn parse_body(body: &Value) -> Result<SendRequest, ApiError> {
    let bad = |m: &str| ApiError::BadRequest {
        code: "invalid_request",
        message: m.to_string(),
    };
    let t = body
        .get("template")
        .ok_or_else(|| bad("The body needs \"template\": {\"name\", \"language\"}."))?;
    let name = t
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty());
    let language = t
        .get("language")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty());
    let (Some(name), Some(language)) = (name, language) else {
        return Err(bad(
            "template.name and template.language must be non-empty text.",
        ));
    };
    let variables = match body.get("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(bad("variables must be an object of name to text.")),
    };
    Ok(SendRequest {
        template: name.to_string(),
        language: language.to_string(),
        variables,
    })
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

    let idempotency = match req
        .header("idempotency-key")
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(k) if k.len() > MAX_IDEMPOTENCY_KEY => {
            return Err(ApiError::BadRequest {
                code: "invalid_idempotency_key",
                message: format!(
                    "Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters."
                ),
            })
        }
        Some(k) => {
            let pk = Store::idempotency_pk(&caller.tenant, &caller.agent, k);
            let hash = hex::encode(Sha256::digest(format!("{}\n{}", key.id(), body).as_bytes()));
            match deps.store.claim_idempotency(&pk, &hash, (deps.clock)()).await.map_err(storage)? {
                IdempotencyClaim::Claimed => Some(pk),
                IdempotencyClaim::Done { status, body } => {
                    let mut r = ApiResponse::json(status, &serde_json::from_str(&body).unwrap_or(Value::Null));
                    r.headers.push(("idempotent-replay".into(), "true".into()));
                    return Ok(r);
                }
                IdempotencyClaim::InProgress => {
                    return Err(ApiError::Conflict { code: "idempotency_in_progress", message: "A request with this Idempotency-Key is still being processed; retry shortly.".into() })
                }
                IdempotencyClaim::Mismatch => {
                    return Err(ApiError::Conflict { code: "idempotency_key_reused", message: "This Idempotency-Key was already used with a different request.".into() })
                }
            }
        }
        None => None,
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

async fn send_claimed(
    deps: &Deps,
    caller: &Caller,
    key: &RecordKey,
    request: &SendRequest,
    idempotency: Option<&str>,
) -> Result<ApiResponse, ApiError> {
    let now = (deps.clock)();
    let ctx = deps
        .store
        .send_context(key, &caller.agent, now)
        .await
        .map_err(storage)?;
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

    let slot: Option<Slot> = match rules.cap() {
        Some(limit) => match deps
            .store
            .reserve(
                &key.tenant,
                &caller.agent,
                &key.customer,
                limit,
                now,
                ctx.counter,
            )
            .await
            .map_err(storage)?
        {
            Ok(slot) => Some(slot),
            Err(q) => {
                let view = q.view(rules.tz());
                let mut details = Map::new();
                details.insert("availableAt".into(), json!(view.available_at));
                details.insert("retryAfterSeconds".into(), json!(view.retry_after_seconds));
                details.insert(
                    "quota".into(),
                    serde_json::to_value(&view).unwrap_or_default(),
                );
                return Err(ApiError::TooManyRequests {
                    code: "active_message_limit_reached",
                    message: refusal_message(&q, now, rules.tz()),
                    retry_after_seconds: q.retry_after_seconds,
                    details,
                });
            }
        },
        None => None,
    };

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
    let wamid = match deps.graph.send(&record.channel, &message).await {
        Ok(w) => w,
        Err(e) => {
            if let Some(slot) = &slot {
                if let Err(err) = deps
                    .store
                    .release(&key.tenant, &caller.agent, &key.customer, &slot.token)
                    .await
                {
                    tracing::error!(error = %err, "could not give a cap slot back");
                }
            }
            tracing::warn!(customer = %mask(&key.customer), error = %e, "active message not sent");
            return Err(graph_error(e));
        }
    };
    let quota = slot.map(|s| s.quota_after.view(rules.tz()));
    let response =
        json!({"messageId": wamid, "sentAt": local_iso(now, rules.tz()), "quota": quota});
    let body = response.to_string();
    let marked = deps
        .store
        .mark_sent(
            key,
            &caller.agent,
            (&template.name, &template.language),
            &wamid,
            now,
            idempotency.map(|pk| (pk, 200u16, body.as_str())),
        )
        .await;
    if let Err(e) = marked {
        // The message went out; the record could not be marked. Say so loudly, but do not
        // tell the agent it failed (a retry would message the customer twice).
        tracing::error!(error = %e, wamid = %wamid, "active message sent but the record could not be marked");
    }
    publish_sent(deps, caller, &record, template, &wamid, now).await;
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

async fn publish_sent(
    deps: &Deps,
    caller: &Caller,
    record: &ContactRecord,
    template: &Template,
    wamid: &str,
    now: DateTime<Utc>,
) {
    let event = Event {
        detail_type: SENT_DETAIL_TYPE.into(),
        detail: json!({
            "tenantId": caller.tenant,
            "agentId": caller.agent,
            "recordId": record.key.id(),
            "recordAgentId": record.key.agent,
            "contact": afterhours_rules::display::contact(record.wa_id.as_deref(), record.user_id.as_deref()),
            "template": {"name": template.name, "language": template.language},
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
