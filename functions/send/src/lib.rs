//! `POST /contacts/{id}/active-messages` and `POST /active-messages`: an
//! agent reaches a customer back with an approved template, within the
//! rolling-24h cap, at most once per `Idempotency-Key`. The second route
//! sends to any customer by channel and number, with the same checks and the
//! same counter, and marks no record.
//!
//! One request goes straight down [`send`]: parse the target → authorize
//! (403) → parse the body (400) → claim the `Idempotency-Key` ([`keys`]) →
//! check the record or channel (404), the template of its account and the
//! variables and header media (422) → reserve a cap slot (429) → deliver
//! ([`outcome`]: the Graph call, 502/504, the record marked sent and
//! `ActiveMessageSent` on the bus) → the answer. [`request`] holds the bodies.

mod deps;
mod keys;
mod outcome;
mod request;

use afterhours_adapters::desk::DeskRequest;
use afterhours_adapters::error_code::ErrorCode;
use afterhours_adapters::http::{ApiError, ApiRequest, ApiResponse, Caller, MAX_DESK_BODY_BYTES};
use afterhours_adapters::model::{ContactRecord, RecordKey, SendTarget, TemplateRef};
use afterhours_adapters::store::{Reservation, SendContext, Slot};
use afterhours_adapters::tenant::{rules_of, templates_of};
use afterhours_rules::cap::Refusal;
use afterhours_rules::media::header_component;
use afterhours_rules::settings::TenantRules;
use afterhours_rules::templates::Template;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub use deps::Deps;
pub use keys::{IDEMPOTENCY_HOLD_SECONDS, MAX_IDEMPOTENCY_KEY, REPLAY_HEADER};
pub use outcome::{graph_error, Attempt, PreparedSend, SENT_DETAIL_TYPE};
pub use request::{
    find_template, parse_body, parse_direct, SendBody, SendRequest, SendResponse, TemplateBody,
};

pub async fn handle(deps: &Deps, req: ApiRequest) -> ApiResponse {
    match DeskRequest::open(&deps.store, &deps.rules, &req).await {
        Ok(desk) => desk.respond(send(deps, &req, &desk).await),
        Err(refusal) => refusal,
    }
}

/// One send, each step once, in order. `Err` only for refusals decided
/// before the Graph call (the key is then freed, so a retry is judged
/// afresh); from the call on, the answer is final and stored under the key.
async fn send(deps: &Deps, req: &ApiRequest, desk: &DeskRequest) -> Result<ApiResponse, ApiError> {
    let caller = &desk.caller;
    req.limit_body(MAX_DESK_BODY_BYTES)?;
    let body = req.json_body()?;
    let target = target_of(req, caller, &body)?;
    authorize(caller, &target)?;
    let request = parse_body(&body)?;
    let now = (deps.clock)();
    let key = match keys::claim_key(&deps.store, now, req, caller, &target, &body).await? {
        keys::KeyClaim::Replay(answer) => return Ok(answer),
        keys::KeyClaim::Proceed(key) => key,
    };
    let attempt = async {
        let mut prepared = check(deps, caller, &target, &request, now).await?;
        let slot = reserve_slot(deps, caller, &target, &mut prepared, now).await?;
        Ok(Attempt::new(
            caller,
            &target,
            prepared,
            slot,
            key.as_deref(),
            now,
            desk.lang,
        ))
    };
    match attempt.await {
        Ok(attempt) => Ok(outcome::deliver(deps, &attempt).await),
        Err(refusal) => {
            if let Some(pk) = &key {
                if let Err(e) = deps.store.drop_idempotency(pk).await {
                    tracing::error!(error = %e, "could not free an idempotency key");
                }
            }
            Err(refusal)
        }
    }
}

/// Who the request sends to: the record its path names, else the channel
/// and customer of its body.
fn target_of(req: &ApiRequest, caller: &Caller, body: &Value) -> Result<SendTarget, ApiError> {
    if req.path_param("id").is_none() {
        let to = parse_direct(body)?;
        return Ok(SendTarget::Direct {
            channel: to.channel,
            customer: to.customer,
        });
    }
    let key = RecordKey::from_id(&caller.tenant, req.path_id("id")?).ok_or_else(no_record)?;
    Ok(SendTarget::Record(key))
}

/// A record's customer is reached by its own agent, a supervisor or an
/// admin; any agent may send directly (the cap counts per sender).
fn authorize(caller: &Caller, target: &SendTarget) -> Result<(), ApiError> {
    match target {
        SendTarget::Record(key) if !caller.may_act_for(&key.agent) => Err(ApiError::Forbidden(
            "Only the contact's own agent, a supervisor or an admin can send to this customer."
                .into(),
        )),
        _ => Ok(()),
    }
}

fn no_record() -> ApiError {
    ApiError::NotFound("No such contact (it may have expired).".into())
}

/// Where a send goes out from and to.
struct Origin {
    /// The record (none for a direct send).
    record: Option<ContactRecord>,
    /// The phone number id that sends.
    channel: String,
    /// Its WhatsApp Business Account, whose templates may be sent.
    waba: Option<String>,
    /// Who the message goes to: the phone, else the business-scoped id.
    to: String,
}

/// The record's channel (and account), or the direct send's channel, which
/// must be the caller's tenant's (404 otherwise).
async fn origin(
    deps: &Deps,
    target: &SendTarget,
    ctx: &mut SendContext,
) -> Result<Origin, ApiError> {
    match target {
        SendTarget::Record(key) => {
            let record = ctx.record.take().ok_or_else(no_record)?;
            let waba = match ctx.templates.channels.get(&record.channel) {
                Some(w) => Some(w.clone()),
                // A number bound before accounts were noted beside the templates.
                None => deps
                    .store
                    .get_channel(&record.channel)
                    .await?
                    .map(|c| c.waba_id),
            };
            let to = record
                .wa_id
                .clone()
                .or(record.user_id.clone())
                .unwrap_or_else(|| key.customer.clone());
            Ok(Origin {
                channel: record.channel.clone(),
                record: Some(record),
                waba,
                to,
            })
        }
        SendTarget::Direct { channel, customer } => {
            let c = ctx.channel.take().ok_or_else(|| {
                ApiError::NotFound(format!("This tenant has no channel {channel}."))
            })?;
            Ok(Origin {
                record: None,
                channel: c.phone_number_id,
                waba: Some(c.waba_id),
                to: customer.clone(),
            })
        }
    }
}

/// Reads what the send needs (one batch read, the settings fresh, as they
/// decide the cap) and checks the target, the template of its account, the
/// variables and the header media, in that order.
async fn check(
    deps: &Deps,
    caller: &Caller,
    target: &SendTarget,
    request: &SendRequest,
    now: DateTime<Utc>,
) -> Result<PreparedSend, ApiError> {
    let mut ctx = deps
        .store
        .send_context(&caller.tenant, target, &caller.agent, now)
        .await?;
    let origin = origin(deps, target, &mut ctx).await?;
    let rules: TenantRules = rules_of(ctx.settings.as_ref());
    let templates = templates_of(ctx.templates.list_for(origin.waba.as_deref()));
    let template = find_template(&templates, request)?;
    let components = filled_components(template, request)?;
    Ok(PreparedSend {
        template: TemplateRef {
            name: template.name.clone(),
            language: template.language.clone(),
        },
        to: origin.to,
        channel: origin.channel,
        components,
        record: origin.record,
        rules,
        counter: ctx.counter,
    })
}

/// The template's components with the variables and the header media, or
/// 422 `template_variables_invalid` with one detail per refused variable.
fn filled_components(template: &Template, request: &SendRequest) -> Result<Vec<Value>, ApiError> {
    let mut errors = Vec::new();
    let values = template
        .validate_variables(&request.variables)
        .unwrap_or_else(|e| {
            errors = e;
            Default::default()
        });
    let media = header_component(template.media, request.header.as_ref()).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(ApiError::Unprocessable {
            code: ErrorCode::TemplateVariablesInvalid,
            message: format!(
                "{} variable(s) of template {} are not valid.",
                errors.len(),
                template.name
            ),
            details: json!({ "details": errors }),
        });
    }
    let mut components = template.send_components(&values);
    if let Some(h) = media {
        components.insert(0, h);
    }
    Ok(components)
}

/// Takes one slot of the sender's cap for this customer (`None` when the cap
/// is off); over the cap, the 429 with when it becomes possible again.
async fn reserve_slot(
    deps: &Deps,
    caller: &Caller,
    target: &SendTarget,
    prepared: &mut PreparedSend,
    now: DateTime<Utc>,
) -> Result<Option<Slot>, ApiError> {
    let Some(limit) = prepared.rules.cap() else {
        return Ok(None);
    };
    let reservation = deps
        .store
        .reserve(
            &caller.tenant,
            &caller.agent,
            target.customer(),
            limit,
            now,
            prepared.counter.take(),
        )
        .await?;
    match reservation {
        Reservation::Granted(slot) => Ok(Some(slot)),
        Reservation::Refused(quota) => {
            afterhours_adapters::metrics::Counts::new()
                .add("CapRefusals", 1)
                .emit();
            Err(ApiError::CapReached(Box::new(Refusal {
                quota,
                now,
                tz: prepared.rules.tz(),
            })))
        }
    }
}
