//! `POST /contacts/{id}/active-messages`: an agent reaches a customer back with
//! an approved template, within the rolling-24h cap, at most once per
//! `Idempotency-Key`.
//!
//! Checks in SPEC order: who may act on the record (403) → the record exists
//! and is live (404) → the template is APPROVED (422) → the variables (422) →
//! the cap (429) → the Graph API call (502/504) → the record marked sent and
//! `ActiveMessageSent` on the bus. [`keys`] holds the `Idempotency-Key`,
//! [`outcome`] what each outcome of the Graph call does.

mod keys;
mod outcome;
mod request;

use afterhours_adapters::boot::Boot;
use afterhours_adapters::config::ConfigError;
use afterhours_adapters::events::Publisher;
use afterhours_adapters::graph::GraphClient;
use afterhours_adapters::http::{
    respond, ApiError, ApiRequest, ApiResponse, Caller, MAX_DESK_BODY_BYTES,
};
use afterhours_adapters::lambda::{system_clock, Clock};
use afterhours_adapters::model::{ContactRecord, RecordKey, TemplateRef};
use afterhours_adapters::store::{Counter, Reservation, Slot, Store};
use afterhours_adapters::tenant::{rules_of, templates_of};
use afterhours_rules::cap::refusal_message;
use afterhours_rules::settings::TenantRules;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

pub use keys::{IDEMPOTENCY_HOLD_SECONDS, MAX_IDEMPOTENCY_KEY, REPLAY_HEADER};
pub use outcome::graph_error;
pub use request::{find_template, parse_body, SendBody, SendRequest, SendResponse, TemplateBody};

/// The `DetailType` of the event a successful send puts on the bus.
pub const SENT_DETAIL_TYPE: &str = "ActiveMessageSent";

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

async fn send(deps: &Deps, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let caller = Caller::from_claims(&req.claims)?;
    req.limit_body(MAX_DESK_BODY_BYTES)?;
    let not_found = || ApiError::NotFound("No such contact (it may have expired).".into());
    let key = RecordKey::from_id(&caller.tenant, req.path_id("id")?).ok_or_else(not_found)?;
    if !caller.may_act_for(&key.agent) {
        return Err(ApiError::Forbidden(
            "Only the contact's own agent, a supervisor or an admin can send to this customer."
                .into(),
        ));
    }
    let body = req.json_body()?;
    let request = parse_body(&body)?;
    let idempotency = match keys::claim_key(deps, req, &caller, &key, &body).await? {
        keys::KeyClaim::Replay(r) => return Ok(r),
        keys::KeyClaim::Proceed(pk) => pk,
    };
    let result = send_claimed(deps, &caller, &key, &request, idempotency.as_deref()).await;
    if let (Err(_), Some(pk)) = (&result, &idempotency) {
        // Refused before the Graph call: the key is freed, a retry is judged afresh.
        if let Err(e) = deps.store.drop_idempotency(pk).await {
            tracing::error!(error = %e, "could not free an idempotency key");
        }
    }
    result
}

/// A send that passed every check before the cap: the record, the rules in
/// force, the template and the Graph message to send.
pub struct Checked {
    record: ContactRecord,
    rules: TenantRules,
    template: TemplateRef,
    /// Who the message goes to: the phone, else the business-scoped id.
    to: String,
    /// Meta's template components with the variables filled.
    components: Vec<Value>,
    counter: Option<Counter>,
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
    Ok(Checked {
        template: TemplateRef {
            name: template.name.clone(),
            language: template.language.clone(),
        },
        to: record
            .wa_id
            .clone()
            .or(record.user_id.clone())
            .unwrap_or_else(|| key.customer.clone()),
        components: template.send_components(&values),
        record,
        rules,
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
            afterhours_adapters::metrics::Counts::new()
                .add("CapRefusals", 1)
                .emit();
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

/// Checks, takes a cap slot, then sends. `Err` only for refusals decided
/// before the Graph call; from the call on, the answer is final and stored.
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
    let tz = checked.rules.tz();
    let attempt = outcome::Attempt {
        caller,
        key,
        checked: &checked,
        counted: slot.is_some(),
        quota: slot.as_ref().map(|s| s.quota_after.view(tz)),
        send_id: slot
            .map(|s| s.token)
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
        idempotency,
        now,
    };
    Ok(outcome::deliver(deps, &attempt).await)
}
