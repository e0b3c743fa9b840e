//! What every contacts route checks: the page size of a query, which record
//! an id names and whether the caller may see it, and the caller's quota.

use std::collections::HashMap;

use afterhours_adapters::desk::DeskRequest;
use afterhours_adapters::error_code::ErrorCode;
use afterhours_adapters::http::{ApiError, Caller};
use afterhours_adapters::model::RecordKey;
use afterhours_rules::cap::{self, QuotaView};

use crate::deps::{tenant_rules, Deps};

pub const DEFAULT_LIMIT: i32 = 50;

pub const MAX_LIMIT: i32 = 100;

pub(crate) fn bad_query(message: String) -> ApiError {
    ApiError::BadRequest {
        code: ErrorCode::InvalidQuery,
        message,
    }
}

/// The page size of a query (`limit`, 1 to [`MAX_LIMIT`]).
pub(crate) fn page_limit(q: &HashMap<String, String>) -> Result<i32, ApiError> {
    match q.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.trim().parse::<i32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(bad_query(format!(
                "limit {v:?} must be a whole number from 1 to {MAX_LIMIT}"
            ))),
        },
    }
}

pub(crate) fn no_contact() -> ApiError {
    ApiError::NotFound("No such contact (it may have expired).".into())
}

/// The key of the record an id names, if the caller may act on it (its own
/// agent, a supervisor or an admin).
pub(crate) fn visible_key(caller: &Caller, id: &str) -> Result<RecordKey, ApiError> {
    let key = RecordKey::from_id(&caller.tenant, id).ok_or_else(no_contact)?;
    if !caller.may_act_for(&key.agent) {
        return Err(ApiError::Forbidden(
            "Agents can only see their own contacts.".into(),
        ));
    }
    Ok(key)
}

/// The caller's quota for a customer (`None` when the cap is off).
pub(crate) async fn caller_quota(
    deps: &Deps,
    desk: &DeskRequest,
    customer: &str,
) -> Result<Option<QuotaView>, ApiError> {
    let (caller, rules) = (&desk.caller, tenant_rules(deps, desk).await?);
    let quota = match rules.cap() {
        Some(limit) => {
            let c = deps
                .store
                .read_counter(&caller.tenant, &caller.agent, customer)
                .await?;
            Some(cap::quota(&c.times(), (deps.clock)(), limit).view(rules.tz()))
        }
        None => None,
    };
    Ok(quota)
}
