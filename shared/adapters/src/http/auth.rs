//! Who is calling: the caller from the verified claims, and the roles.

use std::collections::HashMap;

use afterhours_rules::ids::{Ident, IdentError};

use super::error::ApiError;

/// The roles, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

/// Who is calling, from the verified JWT claims only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    pub agent: String,
    pub role: Role,
}

impl Caller {
    pub fn from_claims(claims: &HashMap<String, String>) -> Result<Caller, ApiError> {
        let clean = |v: Option<&String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let agent = clean(claims.get("sub"))
            .ok_or_else(|| ApiError::Unauthorized("The token has no subject (sub).".into()))?;
        // Cognito's claims only: the local stack's `tenant_id` / `role`
        // shorthands are mapped by its own gateway, never accepted here.
        let tenant = clean(claims.get("custom:tenant_id")).ok_or_else(|| {
            ApiError::Unauthorized("The token names no tenant (custom:tenant_id).".into())
        })?;
        let groups = clean(claims.get("cognito:groups")).unwrap_or_default();
        let role = parse_roles(&groups).ok_or_else(|| {
            ApiError::Forbidden(
                "The token's groups name no role of this service (agent, supervisor or admin)."
                    .into(),
            )
        })?;
        let unusable =
            |e: IdentError| ApiError::Unauthorized(format!("The token's {e}; it cannot be used."));
        Ok(Caller {
            tenant: Ident::parse("tenant", &tenant)
                .map_err(unusable)?
                .into_string(),
            agent: Ident::parse("subject", &agent)
                .map_err(unusable)?
                .into_string(),
            role,
        })
    }

    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "This needs the {} role.",
                role_name(role)
            )))
        }
    }

    /// Whether the caller may act on records of `agent`.
    pub fn may_act_for(&self, agent: &str) -> bool {
        self.role >= Role::Supervisor || self.agent == agent
    }
}

pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Agent => "agent",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

/// The strongest role among the groups of a `cognito:groups` claim, by exact
/// name (`agent`, `supervisor`, `admin`, case-sensitive). API Gateway hands
/// an array over as `[agent admin]` (split on whitespace only); a JSON array
/// `["agent","admin"]` works too. `Admins`, `ADMIN` or `sales,admin` are no role.
fn parse_roles(claim: &str) -> Option<Role> {
    let claim = claim.trim();
    let groups: Vec<String> = match serde_json::from_str::<Vec<String>>(claim) {
        Ok(list) => list,
        Err(_) => {
            let inner = claim
                .strip_prefix('[')
                .and_then(|c| c.strip_suffix(']'))
                .unwrap_or(claim);
            inner.split_whitespace().map(String::from).collect()
        }
    };
    groups
        .iter()
        .filter_map(|g| match g.as_str() {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        })
        .max()
}
