//! `POST /contacts/{id}/active-messages` and `POST /active-messages`: an
//! agent reaches a customer back with an approved template, within the
//! rolling-24h cap, at most once per `Idempotency-Key`. The second route
//! sends to any customer by channel and number, with the same checks and the
//! same counter, and marks no record.
//!
//! Checks in SPEC order: who may act on the record (403) → the record exists
//! and is live, or the channel is the tenant's (404) → the template is
//! APPROVED and of that channel's account (422) → the variables and header media (422) →
//! the cap (429) → the Graph API call (502/504) → the record marked sent and
//! `ActiveMessageSent` on the bus. [`keys`] holds the `Idempotency-Key`,
//! [`outcome`] what each outcome of the Graph call does.

mod keys;
mod outcome;
mod request;

use afterhours_adapters::boot::ColdStart;
use afterhours_adapters::config::ConfigError;
use afterhours_adapters::error_code::ErrorCode;
use afterhours_adapters::events::Publisher;
use afterhours_adapters::graph::GraphClient;
use afterhours_adapters::http::language::answer_language;
use afterhours_adapters::http::{
    respond, ApiError, ApiRequest, ApiResponse, Caller, MAX_DESK_BODY_BYTES,
};
use afterhours_adapters::lambda::{system_clock, Clock};
use afterhours_adapters::model::{ContactRecord, RecordKey, TemplateRef};
use afterhours_adapters::store::{Counter, Reservation, SendContext, SendTarget, Slot, Store};
use afterhours_adapters::tenant::{rules_of, templates_of};
use afterhours_rules::cap::refusal_message;
use afterhours_rules::media::header_component;
use afterhours_rules::settings::TenantRules;
use afterhours_rules::templates::Template;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

pub use keys::{IDEMPOTENCY_HOLD_SECONDS, MAX_IDEMPOTENCY_KEY, REPLAY_HEADER};
pub use outcome::graph_error;
pub use request::{
    find_template, parse_body, parse_direct, DirectTo, SendBody, SendRequest, SendResponse,
    TemplateBody,
};

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
        let (boot, graph) = ColdStart::load_with_graph().await?;
        Ok(Deps {
            graph,
            events: boot.publisher(),
            store: boot.store,
            clock: system_clock(),
        })
    }
}

pub async fn handle(deps: &Deps, req: ApiRequest) -> ApiResponse {
    let result = send(deps, &req).await;
    respond(&deps.store, &req, result).await
}

/// Who a send goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `POST /contacts/{id}/active-messages`: the record's customer, on its channel.
    Record(RecordKey),
    /// `POST /active-messages`: any customer, on a channel the body names.
    Direct(DirectTo),
}

impl Target {
    /// The target of the request: the record its path names (if the caller
    /// may act on it), else the channel and customer of its body.
    fn of(req: &ApiRequest, caller: &Caller, body: &Value) -> Result<Target, ApiError> {
        if req.path_param("id").is_none() {
            return Ok(Target::Direct(parse_direct(body)?));
        }
        let key = RecordKey::from_id(&caller.tenant, req.path_id("id")?).ok_or_else(no_record)?;
        if !caller.may_act_for(&key.agent) {
            return Err(ApiError::Forbidden(
                "Only the contact's own agent, a supervisor or an admin can send to this customer."
                    .into(),
            ));
        }
        Ok(Target::Record(key))
    }

    pub fn customer(&self) -> &str {
        match self {
            Target::Record(k) => &k.customer,
            Target::Direct(d) => &d.customer,
        }
    }

    /// What an `Idempotency-Key` is bound to, besides the body.
    fn binding(&self) -> String {
        match self {
            Target::Record(k) => k.id(),
            Target::Direct(d) => format!("direct\n{}\n{}", d.channel, d.customer),
        }
    }

    fn store_target(&self) -> SendTarget<'_> {
        match self {
            Target::Record(k) => SendTarget::Record(k),
            Target::Direct(d) => SendTarget::Direct {
                channel: &d.channel,
                customer: &d.customer,
            },
        }
    }
}

fn no_record() -> ApiError {
    ApiError::NotFound("No such contact (it may have expired).".into())
}

async fn send(deps: &Deps, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let caller = Caller::from_claims(&req.claims)?;
    req.limit_body(MAX_DESK_BODY_BYTES)?;
    let body = req.json_body()?;
    let target = Target::of(req, &caller, &body)?;
    let request = parse_body(&body)?;
    let idempotency = match keys::claim_key(deps, req, &caller, &target, &body).await? {
        keys::KeyClaim::Replay(r) => return Ok(r),
        keys::KeyClaim::Proceed(pk) => pk,
    };
    let result = send_claimed(
        deps,
        &caller,
        &target,
        &request,
        (idempotency.as_deref(), req),
    )
    .await;
    if let (Err(_), Some(pk)) = (&result, &idempotency) {
        // Refused before the Graph call: the key is freed, a retry is judged afresh.
        if let Err(e) = deps.store.drop_idempotency(pk).await {
            tracing::error!(error = %e, "could not free an idempotency key");
        }
    }
    result
}

/// A send that passed every check before the cap: the record (none for a
/// direct send), the channel, the rules in force, the template and the
/// Graph message to send.
pub struct PreparedSend {
    record: Option<ContactRecord>,
    /// The phone number id that sends.
    channel: String,
    rules: TenantRules,
    template: TemplateRef,
    /// Who the message goes to: the phone, else the business-scoped id.
    to: String,
    /// Meta's template components with the variables (and header media) filled.
    components: Vec<Value>,
    counter: Option<Counter>,
}

/// Where the send goes out from: the record's channel (and account), or
/// the direct send's channel, which must be the caller's tenant's.
async fn origin(
    deps: &Deps,
    target: &Target,
    ctx: &mut SendContext,
) -> Result<(Option<ContactRecord>, String, Option<String>, String), ApiError> {
    match target {
        Target::Record(key) => {
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
            let channel = record.channel.clone();
            Ok((Some(record), channel, waba, to))
        }
        Target::Direct(d) => {
            let c = ctx.channel.take().ok_or_else(|| {
                ApiError::NotFound(format!("This tenant has no channel {}.", d.channel))
            })?;
            Ok((None, c.phone_number_id, Some(c.waba_id), d.customer.clone()))
        }
    }
}

/// Reads what the send needs (one batch read) and checks the target, the
/// template of its account, the variables and the header media, in SPEC order.
async fn check(
    deps: &Deps,
    caller: &Caller,
    target: &Target,
    request: &SendRequest,
    now: DateTime<Utc>,
) -> Result<PreparedSend, ApiError> {
    let mut ctx = deps
        .store
        .send_context(&caller.tenant, target.store_target(), &caller.agent, now)
        .await?;
    let (record, channel, waba, to) = origin(deps, target, &mut ctx).await?;
    let rules = rules_of(ctx.settings.as_ref());
    let templates = templates_of(ctx.templates.list_for(waba.as_deref()));
    let template = find_template(&templates, request)?;
    let components = filled_components(template, request)?;
    Ok(PreparedSend {
        template: TemplateRef {
            name: template.name.clone(),
            language: template.language.clone(),
        },
        to,
        channel,
        components,
        record,
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
    customer: &str,
    c: &mut PreparedSend,
    now: DateTime<Utc>,
) -> Result<Option<Slot>, ApiError> {
    let Some(limit) = c.rules.cap() else {
        return Ok(None);
    };
    let reservation = deps
        .store
        .reserve(
            &caller.tenant,
            &caller.agent,
            customer,
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
                code: ErrorCode::ActiveMessageLimitReached,
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
    target: &Target,
    request: &SendRequest,
    (idempotency, req): (Option<&str>, &ApiRequest),
) -> Result<ApiResponse, ApiError> {
    let now = (deps.clock)();
    let mut checked = check(deps, caller, target, request, now).await?;
    let slot = reserve_slot(deps, caller, target.customer(), &mut checked, now).await?;
    let tz = checked.rules.tz();
    let attempt = outcome::Attempt {
        caller,
        target,
        checked: &checked,
        counted: slot.is_some(),
        quota: slot.as_ref().map(|s| s.quota_after.view(tz)),
        send_id: slot
            .map(|s| s.token)
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
        idempotency,
        now,
        lang: answer_language(req, &checked.rules.settings.language),
    };
    Ok(outcome::deliver(deps, &attempt).await)
}
