//! The commands on tenants, users and accounts.

use afterhours_adapters::store::{Granted, StoreError};
use afterhours_rules::ids::{is_waba_id, Ident};
use afterhours_rules::settings::{self, Settings};
use serde_json::json;

use crate::cli::{AccountArgs, CreateTenant, Invite};
use crate::context::Admin;
use crate::outcome::{AdminError, Done};

/// A tenant id by the API's own rules.
fn tenant_id(raw: &str) -> Result<String, AdminError> {
    Ident::parse("tenant", raw)
        .map(Ident::into_string)
        .map_err(|e| AdminError::Invalid(format!("{e}.")))
}

fn waba_id(raw: &str) -> Result<String, AdminError> {
    let w = raw.trim();
    if is_waba_id(w) {
        Ok(w.to_string())
    } else {
        Err(AdminError::Invalid(format!(
            "{raw:?} is not a WhatsApp Business Account id (1 to 32 digits, as WhatsApp Manager shows it)."
        )))
    }
}

/// An email address Cognito can send to: one `@`, something on each side, a
/// dot in the domain, no spaces.
fn email(raw: &str) -> Result<String, AdminError> {
    let e = raw.trim();
    let ok = e.len() <= 254
        && !e.chars().any(char::is_whitespace)
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if ok {
        Ok(e.to_string())
    } else {
        Err(AdminError::Invalid(format!(
            "{raw:?} is not an email address."
        )))
    }
}

/// Refuses a tenant that is not in the registry.
async fn must_exist(admin: &Admin, tenant: &str) -> Result<(), AdminError> {
    if admin.store.tenant_exists(tenant).await? {
        Ok(())
    } else {
        Err(AdminError::Refused(format!(
            "Tenant {tenant} does not exist; create it with `afterhours-admin tenant create`."
        )))
    }
}

fn already_exists(tenant: &str) -> AdminError {
    AdminError::Refused(format!(
        "Tenant {tenant} already exists; add people with `afterhours-admin user invite`."
    ))
}

/// The default settings with the tenant's language and zone, validated as the API would.
fn first_settings(language: &str, timezone: &str) -> Result<serde_json::Value, AdminError> {
    let mut doc =
        serde_json::to_value(Settings::default()).map_err(|e| AdminError::Failed(e.to_string()))?;
    doc["language"] = json!(language.trim());
    doc["timezone"] = json!(timezone.trim());
    settings::validate(&doc).map_err(|errors| {
        let why: Vec<String> = errors
            .iter()
            .map(|e| format!("--{}: {}", e.field, e.message))
            .collect();
        AdminError::Invalid(format!("The settings are not valid: {}.", why.join("; ")))
    })?;
    Ok(doc)
}

pub async fn create(admin: &Admin, a: &CreateTenant) -> Result<Done, AdminError> {
    let tenant = tenant_id(&a.tenant)?;
    let email = email(&a.admin_email)?;
    let doc = first_settings(&a.language, &a.timezone)?;
    let directory = admin.directory()?;
    if admin.store.tenant_exists(&tenant).await? {
        return Err(already_exists(&tenant));
    }
    directory.must_be_new(&email).await?;
    match admin.store.put_settings_if(&tenant, &doc, 0).await {
        Ok(_) => {}
        Err(StoreError::Stale(_)) => return Err(already_exists(&tenant)),
        Err(e) => return Err(e.into()),
    }
    let user = directory
        .create_user(&tenant, &email, a.name.as_deref(), "admin")
        .await?;
    Ok(Done {
        text: format!(
            "Created tenant {tenant} ({}, {}) and its admin {} (user id {}); Cognito emailed them a temporary password.\nNext: `afterhours-admin account grant {tenant} <wabaId>` for each WhatsApp Business Account it may bind.",
            doc["timezone"].as_str().unwrap_or_default(),
            doc["language"].as_str().unwrap_or_default(),
            user.email,
            user.id
        ),
        json: json!({"tenant": tenant, "settings": doc, "admin": {"email": user.email, "id": user.id, "role": "admin"}}),
    })
}

pub async fn invite(admin: &Admin, a: &Invite) -> Result<Done, AdminError> {
    let tenant = tenant_id(&a.tenant)?;
    let email = email(&a.email)?;
    let directory = admin.directory()?;
    must_exist(admin, &tenant).await?;
    directory.must_be_new(&email).await?;
    let role = a.role.group();
    let user = directory
        .create_user(&tenant, &email, a.name.as_deref(), role)
        .await?;
    Ok(Done {
        text: format!(
            "Invited {} to tenant {tenant} as {role} (user id {}); Cognito emailed them a temporary password.",
            user.email, user.id
        ),
        json: json!({"tenant": tenant, "email": user.email, "id": user.id, "role": role}),
    })
}

pub async fn grant(admin: &Admin, a: &AccountArgs) -> Result<Done, AdminError> {
    let waba = waba_id(&a.waba_id)?;
    let tenant = tenant_id(&a.tenant)?;
    must_exist(admin, &tenant).await?;
    match admin.store.grant_account(&tenant, &waba).await {
        Ok(g) => {
            let text = match g {
                Granted::New => format!(
                    "Granted WhatsApp Business Account {waba} to tenant {tenant}: its admins can now bind the account's numbers."
                ),
                Granted::Already => format!(
                    "WhatsApp Business Account {waba} was already granted to tenant {tenant}; nothing changed."
                ),
            };
            Ok(Done {
                text,
                json: json!({"tenant": tenant, "wabaId": waba, "granted": true, "changed": g == Granted::New}),
            })
        }
        Err(StoreError::AccountTaken(_)) => Err(AdminError::Refused(format!(
            "WhatsApp Business Account {waba} is granted to another tenant ({}); revoke it there first.",
            admin.store.account_grantee(&waba).await?.unwrap_or_default()
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(admin: &Admin, a: &AccountArgs) -> Result<Done, AdminError> {
    let waba = waba_id(&a.waba_id)?;
    let tenant = tenant_id(&a.tenant)?;
    match admin.store.revoke_account(&tenant, &waba).await {
        Ok(r) => {
            let numbers = if r.unbound.is_empty() {
                "no number was bound".to_string()
            } else {
                format!("unbound {}", r.unbound.join(", "))
            };
            let text = if r.was_granted {
                format!("Revoked WhatsApp Business Account {waba} from tenant {tenant}; {numbers}.")
            } else {
                format!("WhatsApp Business Account {waba} was not granted to tenant {tenant}; {numbers}.")
            };
            Ok(Done {
                text,
                json: json!({"tenant": tenant, "wabaId": waba, "wasGranted": r.was_granted, "unbound": r.unbound}),
            })
        }
        Err(StoreError::AccountTaken(_)) => Err(AdminError::Refused(format!(
            "WhatsApp Business Account {waba} is granted to another tenant, not {tenant}; nothing was changed."
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn list(admin: &Admin) -> Result<Done, AdminError> {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for tenant in admin.store.tenants().await? {
        let accounts = admin.store.tenant_wabas(&tenant).await?;
        lines.push(if accounts.is_empty() {
            format!("{tenant}\t(no account granted)")
        } else {
            format!("{tenant}\t{}", accounts.join(", "))
        });
        rows.push(json!({"tenant": tenant, "accounts": accounts}));
    }
    let text = if lines.is_empty() {
        "No tenant yet; create one with `afterhours-admin tenant create`.".to_string()
    } else {
        format!("tenant\tgranted accounts\n{}", lines.join("\n"))
    };
    Ok(Done {
        text,
        json: json!({"tenants": rows}),
    })
}

pub async fn channels(admin: &Admin, raw: &str) -> Result<Done, AdminError> {
    let tenant = tenant_id(raw)?;
    must_exist(admin, &tenant).await?;
    let accounts = admin.store.tenant_wabas(&tenant).await?;
    let channels = admin.store.tenant_channels(&tenant).await?;
    let mut text = format!(
        "Tenant {tenant}: granted accounts {}",
        if accounts.is_empty() {
            "none".to_string()
        } else {
            accounts.join(", ")
        }
    );
    if channels.is_empty() {
        text.push_str("\nNo number bound.");
    } else {
        text.push_str("\nphone number id\taccount\tshown as\tdefault agent");
        for c in &channels {
            text.push_str(&format!(
                "\n{}\t{}\t{}\t{}",
                c.phone_number_id, c.waba_id, c.display_phone_number, c.default_agent_id
            ));
        }
    }
    Ok(Done {
        text,
        json: json!({"tenant": tenant, "accounts": accounts, "channels": channels}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_emails_are_checked_before_anything_is_asked() {
        assert_eq!(tenant_id(" acme ").unwrap(), "acme");
        assert!(matches!(tenant_id("a#b"), Err(AdminError::Invalid(m)) if m.contains("tenant")));
        assert!(matches!(tenant_id(""), Err(AdminError::Invalid(_))));
        assert_eq!(waba_id("1234").unwrap(), "1234");
        assert!(matches!(waba_id("12a"), Err(AdminError::Invalid(m)) if m.contains("\"12a\"")));
        assert_eq!(email(" ana@acme.com ").unwrap(), "ana@acme.com");
        for bad in [
            "ana",
            "@acme.com",
            "ana@acme",
            "ana @acme.com",
            "a@b@c.com",
            "ana@.com",
            "ana@acme.",
        ] {
            assert!(matches!(email(bad), Err(AdminError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn first_settings_take_the_language_and_zone_and_are_validated() {
        let doc = first_settings("es_ES", "Europe/Madrid").unwrap();
        assert_eq!(
            (doc["language"].as_str(), doc["timezone"].as_str()),
            (Some("es_ES"), Some("Europe/Madrid"))
        );
        let err = first_settings("xx_XX", "Mars/Olympus").unwrap_err();
        let AdminError::Invalid(m) = err else {
            panic!("{err:?}")
        };
        assert!(m.contains("--timezone") && m.contains("--language"), "{m}");
    }
}
