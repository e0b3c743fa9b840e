//! The desk's contact routes: `GET /contacts`, `GET /contacts/{id}`,
//! `GET /contacts/{id}/quota`, `GET /quota`, `GET /agents`,
//! `GET /templates`, and `POST`/`DELETE /contacts/{id}/handled`, for the
//! caller's tenant only.

use std::collections::HashMap;

use afterhours_adapters::desk::DeskRequest;
use afterhours_adapters::http::StatusCode;
use afterhours_adapters::http::{
    ApiError, ApiRequest, ApiResponse, Caller, Role, MAX_DESK_BODY_BYTES,
};
use afterhours_adapters::i18n::Lang;
use afterhours_adapters::model::{Channel, ContactRecord, ListFilter, ListOrder, ListQuery};
use afterhours_adapters::tenant::templates_of;
use afterhours_adapters::view::{record_view, RecordView};
use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::cap::QuotaView;
use afterhours_rules::ids::{customer_of, is_phone_number_id, Ident};
use afterhours_rules::settings::TenantRules;
use afterhours_rules::templates::Template;
use serde::Serialize;
use serde_json::{json, Value};

mod access;
mod agents;
mod deps;
mod handled;

pub use agents::{token_name, AgentPage, MAX_DISPLAY_NAME_CHARS};
pub use handled::MAX_NOTE_CHARS;

pub use access::{DEFAULT_LIMIT, MAX_LIMIT};
pub use deps::{name_cache, Deps};

use access::{bad_query, caller_quota, no_contact, page_limit, visible_key};
use agents::{agents, remember_name};
use deps::tenant_rules;
use handled::{handled, Mark};

pub async fn handle(deps: &Deps, req: ApiRequest) -> ApiResponse {
    match DeskRequest::open(&deps.store, &deps.rules, &req).await {
        Ok(desk) => desk.respond(route(deps, &req, &desk).await),
        Err(refusal) => refusal,
    }
}

/// `GET /contacts`: one page of records.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPage {
    pub items: Vec<RecordView>,
    pub next_cursor: Option<String>,
    /// Present (and true) only while the tenant is in 24/7 mode.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub always_open: bool,
}

/// `GET /contacts/{id}/quota`: the quota, or only that the cap is off.
#[derive(Debug, Serialize)]
pub struct QuotaAnswer {
    pub enabled: bool,
    #[serde(flatten)]
    pub quota: Option<QuotaView>,
}

/// `GET /templates`: the approved templates.
#[derive(Debug, Serialize)]
pub struct TemplateList {
    pub items: Vec<Value>,
}

async fn route(deps: &Deps, req: &ApiRequest, desk: &DeskRequest) -> Result<ApiResponse, ApiError> {
    let caller = &desk.caller;
    req.limit_body(MAX_DESK_BODY_BYTES)?;
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let id = match req.path_param("id") {
        Some(_) => Some(req.path_id("id")?),
        None => None,
    };
    match (req.method.as_str(), segments.as_slice(), id) {
        ("GET", ["contacts"], _) => list(deps, req, desk).await,
        ("GET", ["contacts", _], Some(id)) => one(deps, desk, id).await,
        ("GET", ["contacts", _, "quota"], Some(id)) => quota(deps, desk, id).await,
        ("POST", ["contacts", _, "handled"], Some(id)) => {
            handled(deps, req, desk, id, Mark::Handled).await
        }
        ("DELETE", ["contacts", _, "handled"], Some(id)) => {
            handled(deps, req, desk, id, Mark::Undone).await
        }
        ("GET", ["templates"], _) => templates(deps, req, caller).await,
        ("GET", ["quota"], _) => quota_by_contact(deps, req, desk).await,
        ("GET", ["agents"], _) => agents(deps, req, desk).await,
        _ => Err(ApiError::NotFound(format!(
            "No route for {} {}.",
            req.method, req.path
        ))),
    }
}

/// What `GET /contacts` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub agent: String,
    pub filter: ListFilter,
    pub order: ListOrder,
    pub limit: i32,
}

/// A `true`/`false` query value, if given.
fn flag(q: &HashMap<String, String>, name: &str) -> Result<Option<bool>, ApiError> {
    match q.get(name).map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(bad_query(format!("{name} {v:?} must be true or false"))),
    }
}

/// Reads the list's query string, refusing what it cannot use.
pub fn parse_list_query(
    q: &HashMap<String, String>,
    caller: &Caller,
) -> Result<ListParams, ApiError> {
    let agent = match q.get("agentId").map(|a| a.trim()).filter(|a| !a.is_empty()) {
        Some(a) => Ident::parse("agentId", a)
            .map_err(|e| bad_query(format!("{e}")))?
            .into_string(),
        None => caller.agent.clone(),
    };
    if !caller.may_act_for(&agent) {
        return Err(ApiError::Forbidden(
            "Agents can only list their own contacts.".into(),
        ));
    }
    let requested_callback = match q.get("requestedCallback").map(String::as_str) {
        None => None,
        Some(v) => Some(RequestedCallback::parse(v).ok_or_else(|| {
            bad_query(format!(
                "requestedCallback {v:?} must be yes, no, pending or n/a"
            ))
        })?),
    };
    let order = match q.get("order").map(String::as_str) {
        None => ListOrder::default(),
        Some(v) => ListOrder::parse(v)
            .ok_or_else(|| bad_query(format!("order {v:?} must be newest or oldest")))?,
    };
    Ok(ListParams {
        agent,
        filter: ListFilter {
            requested_callback,
            message_sent: flag(q, "messageSent")?,
            handled: flag(q, "handled")?,
        },
        order,
        limit: page_limit(q)?,
    })
}

async fn list(deps: &Deps, req: &ApiRequest, desk: &DeskRequest) -> Result<ApiResponse, ApiError> {
    let caller = &desk.caller;
    let params = parse_list_query(&req.query, caller)?;
    remember_name(deps, req, caller).await;
    let now = (deps.clock)();
    let rules = tenant_rules(deps, desk).await?;
    let query = ListQuery {
        tenant: &caller.tenant,
        agent: &params.agent,
        filter: params.filter,
        order: params.order,
        limit: params.limit,
        cursor: req
            .query
            .get("cursor")
            .map(String::as_str)
            .filter(|c| !c.is_empty()),
        now,
    };
    if rules.settings.always_open {
        // 24/7 service: nothing is outside hours, so the list is empty (the
        // records are kept and show again if the mode is switched off).
        return Ok(ApiResponse::json(
            StatusCode::OK,
            &ListPage {
                items: vec![],
                next_cursor: None,
                always_open: true,
            },
        ));
    }
    let page = deps.store.list_records(&query, &deps.cursors).await?;
    let items = with_callers_quota(deps, caller, &rules, desk.lang, &page.items, now).await?;
    Ok(ApiResponse::json(
        StatusCode::OK,
        &ListPage {
            items,
            next_cursor: page.next_cursor,
            always_open: false,
        },
    ))
}

/// The records as the desk shows them, each with the caller's quota: it
/// answers "can I send to this customer now?", and a send counts against its
/// sender (a supervisor sees their own). One batch read for the page.
async fn with_callers_quota(
    deps: &Deps,
    caller: &Caller,
    rules: &TenantRules,
    lang: Lang,
    records: &[ContactRecord],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<RecordView>, ApiError> {
    let quotas = match rules.cap() {
        Some(limit) => {
            let pairs: Vec<(String, String)> = records
                .iter()
                .map(|r| (caller.agent.clone(), r.key.customer.clone()))
                .collect();
            deps.store
                .quotas(&caller.tenant, &pairs, limit, now)
                .await?
        }
        None => HashMap::new(),
    };
    Ok(records
        .iter()
        .map(|r| {
            let q = quotas
                .get(&(caller.agent.clone(), r.key.customer.clone()))
                .map(|q| q.view(rules.tz()));
            record_view(r, rules.tz(), lang, q)
        })
        .collect())
}

/// The record an id names, if the caller may see it.
async fn visible_record(deps: &Deps, caller: &Caller, id: &str) -> Result<ContactRecord, ApiError> {
    let key = visible_key(caller, id)?;
    deps.store
        .get_record(&key, (deps.clock)())
        .await?
        .ok_or_else(no_contact)
}

/// A record the caller may see, its tenant's zone, and the caller's quota
/// for its customer (`None` when the cap is off).
async fn record_with_quota(
    deps: &Deps,
    desk: &DeskRequest,
    id: &str,
) -> Result<(ContactRecord, Option<QuotaView>), ApiError> {
    let record = visible_record(deps, &desk.caller, id).await?;
    let quota = caller_quota(deps, desk, &record.key.customer).await?;
    Ok((record, quota))
}

async fn one(deps: &Deps, desk: &DeskRequest, id: &str) -> Result<ApiResponse, ApiError> {
    let (record, quota) = record_with_quota(deps, desk, id).await?;
    let tz = tenant_rules(deps, desk).await?.tz();
    Ok(ApiResponse::json(
        StatusCode::OK,
        &record_view(&record, tz, desk.lang, quota),
    ))
}

async fn quota(deps: &Deps, desk: &DeskRequest, id: &str) -> Result<ApiResponse, ApiError> {
    let (_, quota) = record_with_quota(deps, desk, id).await?;
    let body = QuotaAnswer {
        enabled: quota.is_some(),
        quota,
    };
    Ok(ApiResponse::json(StatusCode::OK, &body))
}

/// The `channel` of a query, if given (400 when it is not a phone number id).
fn channel_param(req: &ApiRequest) -> Result<Option<&str>, ApiError> {
    match req
        .query
        .get("channel")
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        Some(c) if is_phone_number_id(c) => Ok(Some(c)),
        Some(_) => Err(bad_query(
            "channel must be a WhatsApp phone number id (letters and digits)".into(),
        )),
        None => Ok(None),
    }
}

/// A channel of the caller's tenant (404 for a number of another tenant or none).
async fn own_channel(deps: &Deps, caller: &Caller, pnid: &str) -> Result<Channel, ApiError> {
    deps.store
        .get_channel(pnid)
        .await?
        .filter(|c| c.tenant_id == caller.tenant)
        .ok_or_else(|| ApiError::NotFound(format!("This tenant has no channel {pnid}.")))
}

/// One template as the desk lists it, with the account it belongs to.
fn template_row(t: &Template, waba: Option<&str>) -> Value {
    let mut v = t.view();
    v["wabaId"] = json!(waba);
    v
}

/// `GET /templates[?channel=]`: the approved templates of that channel's
/// business account, or of every account (each with its `wabaId`).
async fn templates(
    deps: &Deps,
    req: &ApiRequest,
    caller: &Caller,
) -> Result<ApiResponse, ApiError> {
    caller.require(Role::Agent)?;
    let channel = match channel_param(req)? {
        Some(pnid) => Some(own_channel(deps, caller, pnid).await?),
        None => None,
    };
    let book = deps.store.get_templates(&caller.tenant).await?;
    let approved = |doc: Option<&Value>, waba: Option<&str>| -> Vec<Value> {
        templates_of(doc)
            .iter()
            .filter(|t| t.is_approved())
            .map(|t| template_row(t, waba))
            .collect()
    };
    let items = match &channel {
        Some(c) => {
            let own = book.accounts.contains_key(&c.waba_id);
            approved(
                book.list_for(Some(&c.waba_id)),
                own.then_some(c.waba_id.as_str()),
            )
        }
        None => {
            let mut all = approved(book.any.as_ref(), None);
            for (waba, doc) in &book.accounts {
                all.extend(approved(Some(doc), Some(waba)));
            }
            all
        }
    };
    Ok(ApiResponse::json(StatusCode::OK, &TemplateList { items }))
}

/// `GET /quota?contact=+55...[&channel=]`: the caller's quota for any
/// customer, by number or business-scoped id (the general active-message screen).
async fn quota_by_contact(
    deps: &Deps,
    req: &ApiRequest,
    desk: &DeskRequest,
) -> Result<ApiResponse, ApiError> {
    let raw = req.query.get("contact").map(String::as_str).unwrap_or("");
    let customer = customer_of(raw).ok_or_else(|| {
        bad_query(
            "contact must be the customer's number with its country code (+5511999990000) or their business-scoped id"
                .into(),
        )
    })?;
    if let Some(pnid) = channel_param(req)? {
        own_channel(deps, &desk.caller, pnid).await?;
    }
    let quota = caller_quota(deps, desk, &customer).await?;
    let body = QuotaAnswer {
        enabled: quota.is_some(),
        quota,
    };
    Ok(ApiResponse::json(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role) -> Caller {
        Caller {
            tenant: "t".into(),
            agent: "a-1".into(),
            role,
        }
    }

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_agent_lists_only_themselves() {
        assert_eq!(
            parse_list_query(&q(&[]), &caller(Role::Agent))
                .unwrap()
                .agent,
            "a-1"
        );
        assert_eq!(
            parse_list_query(&q(&[("agentId", "a-2")]), &caller(Role::Agent))
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            parse_list_query(&q(&[("agentId", "a-2")]), &caller(Role::Supervisor))
                .unwrap()
                .agent,
            "a-2"
        );
    }

    #[test]
    fn query_values_are_checked() {
        let c = caller(Role::Admin);
        for bad in [
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "99999999999999"),
            ("limit", "x"),
            ("requestedCallback", "maybe"),
            ("messageSent", "1"),
            ("handled", "yes"),
            ("order", "newer"),
            ("agentId", "a#b"),
        ] {
            let e = parse_list_query(&q(&[bad]), &c).unwrap_err();
            assert_eq!(
                (e.status().as_u16(), e.code()),
                (400, "invalid_query"),
                "{bad:?}"
            );
        }
        let p = parse_list_query(
            &q(&[
                ("limit", "100"),
                ("requestedCallback", "n/a"),
                ("messageSent", "false"),
                ("handled", "true"),
                ("order", "oldest"),
            ]),
            &c,
        )
        .unwrap();
        assert_eq!(
            p,
            ListParams {
                agent: "a-1".into(),
                filter: ListFilter {
                    requested_callback: Some(RequestedCallback::NotAsked),
                    message_sent: Some(false),
                    handled: Some(true),
                },
                order: ListOrder::Oldest,
                limit: 100,
            }
        );
        assert_eq!(
            parse_list_query(&q(&[]), &c).unwrap().order,
            ListOrder::Newest
        );
    }
}
