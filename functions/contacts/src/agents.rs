//! `GET /agents`: the desk's agent selector, with the names people go by.

use std::collections::HashMap;

use afterhours_adapters::desk::DeskRequest;
use afterhours_adapters::http::StatusCode;
use afterhours_adapters::http::{ApiError, ApiRequest, ApiResponse, Caller, Role};
use afterhours_adapters::store::{AgentEntry, AgentLoad, StoreError};
use serde::Serialize;

use crate::access::{bad_query, page_limit};
use crate::deps::{tenant_rules, Deps};

/// `GET /agents`: one page of the agent selector.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPage {
    pub items: Vec<AgentLoad>,
    pub next_cursor: Option<String>,
}

/// The longest name remembered for an agent, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 128;

/// The name a caller goes by, from their token: `name`, else `email`
/// (trimmed, without control characters, at most [`MAX_DISPLAY_NAME_CHARS`]).
pub fn token_name(claims: &HashMap<String, String>) -> Option<String> {
    ["name", "email"].iter().find_map(|k| {
        let clean: String = claims
            .get(*k)?
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_DISPLAY_NAME_CHARS)
            .collect();
        Some(clean.trim().to_string()).filter(|n| !n.is_empty())
    })
}

/// Remembers the caller's name for the agent selector: one write per
/// instance and name change, and never a reason to fail the request.
pub(crate) async fn remember_name(deps: &Deps, req: &ApiRequest, caller: &Caller) {
    let Some(name) = token_name(&req.claims) else {
        return;
    };
    let who = (caller.tenant.clone(), caller.agent.clone());
    if deps.names.get(&who).as_deref() == Some(name.as_str()) {
        return;
    }
    match deps
        .store
        .remember_agent_name(&caller.tenant, &caller.agent, &name)
        .await
    {
        Ok(()) => deps.names.put(who, name),
        Err(e) => tracing::warn!(error = %e, "the caller's name was not remembered"),
    }
}

/// Whether an agent matches the selector's search: id or name starting
/// with `q`, ignoring case.
fn matches(a: &AgentEntry, q: &str) -> bool {
    let starts = |s: &str| s.to_lowercase().starts_with(q);
    starts(&a.agent_id) || a.display_name.as_deref().is_some_and(starts)
}

/// `GET /agents`: supervisors and admins page through the tenant's agents
/// (live records or a channel's default), by id, optionally only those whose
/// id or name starts with `q`; an agent sees only themselves. A page costs
/// the registry, the channels and the pending index, whatever its size.
pub(crate) async fn agents(
    deps: &Deps,
    req: &ApiRequest,
    desk: &DeskRequest,
) -> Result<ApiResponse, ApiError> {
    let caller = &desk.caller;
    let now = (deps.clock)();
    remember_name(deps, req, caller).await;
    let limit = usize::try_from(page_limit(&req.query)?).unwrap_or(1);
    let raw = req.query.get("q").map(String::as_str).unwrap_or("");
    if raw.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(bad_query(format!(
            "q is longer than {MAX_DISPLAY_NAME_CHARS} characters"
        )));
    }
    let q = raw.trim().to_lowercase();
    let scope = format!("agents|{}|{q}", caller.tenant);
    let after = match req.query.get("cursor").filter(|c| !c.is_empty()) {
        Some(c) => Some(
            deps.cursors
                .open(&scope, c)
                .map(|(agent, _)| agent)
                .ok_or(StoreError::BadCursor)?,
        ),
        None => None,
    };
    let mut known = if caller.role == Role::Agent {
        let me = deps
            .store
            .agent_entry(&caller.tenant, &caller.agent)
            .await?;
        vec![me.unwrap_or_else(|| AgentEntry {
            agent_id: caller.agent.clone(),
            ..AgentEntry::default()
        })]
    } else {
        deps.store.known_agents(&caller.tenant, now).await?
    };
    known.retain(|a| matches(a, &q) && after.as_ref().is_none_or(|after| a.agent_id > *after));
    let more = known.len() > limit;
    known.truncate(limit);
    let next_cursor = known
        .last()
        .filter(|_| more)
        .map(|last| deps.cursors.seal(&scope, &last.agent_id, ""));
    let items = agent_loads(deps, desk, known, now).await?;
    Ok(ApiResponse::json(
        StatusCode::OK,
        &AgentPage { items, next_cursor },
    ))
}

/// The rows of the selector: each agent's name and counts (all 0 while the
/// tenant is in 24/7 mode, as the list is empty then).
async fn agent_loads(
    deps: &Deps,
    desk: &DeskRequest,
    agents: Vec<AgentEntry>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<AgentLoad>, ApiError> {
    let open = tenant_rules(deps, desk).await?.settings.always_open;
    let pending = if open || agents.is_empty() {
        HashMap::new()
    } else {
        deps.store
            .pending_by_agent(&desk.caller.tenant, now)
            .await?
    };
    Ok(agents
        .into_iter()
        .map(|a| AgentLoad {
            contacts: if open { 0 } else { a.live_contacts(now) },
            callbacks_pending: pending.get(&a.agent_id).copied().unwrap_or(0),
            display_name: a.display_name.clone().unwrap_or_else(|| a.agent_id.clone()),
            agent_id: a.agent_id,
        })
        .collect())
}
