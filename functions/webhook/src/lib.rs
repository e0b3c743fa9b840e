//! `GET /webhook` (Meta's verification handshake) and `POST /webhook` (messages
//! and statuses): outside-hours contacts recorded, the next-hours prompt sent
//! once per closed period, the customer's answer and delivery states stored.

mod deps;
mod messages;
pub mod rejections;
mod statuses;

pub use deps::{Deps, Stats, CACHE_TTL, PROMPT_CONCURRENCY};

use afterhours_adapters::http::StatusCode;
use afterhours_adapters::http::{ApiRequest, ApiResponse};
use afterhours_adapters::store::StoreError;
use afterhours_rules::webhook;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The one entry point, for Lambda and the local gateway alike.
pub async fn handle(deps: &Deps, req: ApiRequest) -> ApiResponse {
    match req.method.as_str() {
        "GET" => verify(deps, &req),
        "POST" => receive(deps, &req).await,
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Use GET or POST on /webhook.",
        ),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> ApiResponse {
    ApiResponse::error(status, code, message)
}

/// Meta's subscription handshake: echo `hub.challenge` when the token matches.
fn verify(deps: &Deps, req: &ApiRequest) -> ApiResponse {
    let q = |k: &str| req.query.get(k).map(String::as_str).unwrap_or("");
    let token_ok: bool = q("hub.verify_token")
        .as_bytes()
        .ct_eq(deps.verify_token.as_bytes())
        .into();
    if q("hub.mode") == "subscribe" && token_ok && !deps.verify_token.is_empty() {
        ApiResponse::text(StatusCode::OK, q("hub.challenge"))
    } else {
        error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The verification token does not match.",
        )
    }
}

/// Whether `X-Hub-Signature-256` is the HMAC-SHA256 of the raw body with the app secret (constant time).
pub fn signature_ok(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

async fn receive(deps: &Deps, req: &ApiRequest) -> ApiResponse {
    let signed = signature_ok(
        &deps.app_secret,
        &req.body,
        req.header("x-hub-signature-256"),
    );
    let now = (deps.clock)();
    let due = if signed {
        deps.rejections.tick(now)
    } else {
        deps.rejections.refused(now)
    };
    if let Some(count) = due {
        rejections::write(count);
    }
    if !signed {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "X-Hub-Signature-256 is missing or does not match the body.",
        );
    }
    let payload = match webhook::parse(&req.body) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_payload", &e.to_string()),
    };
    for why in &payload.skipped {
        tracing::warn!(reason = %why, "webhook item skipped");
    }
    let mut stats = Stats::default();
    stats.skip("unparsable", payload.skipped.len());
    for change in &payload.changes {
        if let Err(e) = process_change(deps, change, &mut stats).await {
            tracing::error!(error = %e, "webhook storage failure; Meta will retry");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage_failure",
                "The webhook could not be stored; it will be retried.",
            );
        }
    }
    tracing::info!(?stats, "webhook processed");
    stats.emit();
    ApiResponse::json(StatusCode::OK, &json!({"received": true}))
}

async fn process_change(
    deps: &Deps,
    change: &webhook::Change,
    stats: &mut Stats,
) -> Result<(), StoreError> {
    let Some(channel) = deps.channel(&change.phone_number_id).await? else {
        tracing::warn!(phone_number_id = %change.phone_number_id, "webhook for an unknown phone number; acknowledged, nothing stored");
        stats.skip(
            "unknown_channel",
            change.messages.len() + change.statuses.len(),
        );
        return Ok(());
    };
    let (rules, settings_changed) = deps.rules(&channel.tenant_id).await?;
    let tenant = messages::TenantNow {
        rules: &rules,
        settings_changed,
    };
    let mut prompts = Vec::new();
    for m in &change.messages {
        if let Some(p) = messages::process(deps, &channel, &tenant, m, stats).await? {
            prompts.push(p);
        }
    }
    let tried = prompts.len();
    let sent = messages::send_prompts(deps, &channel, &rules, prompts).await?;
    stats.prompts += sent;
    stats.prompts_failed += tried - sent;
    for s in &change.statuses {
        statuses::process(deps, &channel, s, stats).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_raw_bytes() {
        let body = br#"{"entry":[]}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_ok(b"s3cret", body, Some(&good)));
        assert!(!signature_ok(b"other", body, Some(&good)));
        assert!(!signature_ok(b"s3cret", br#"{"entry": []}"#, Some(&good)));
        assert!(!signature_ok(b"s3cret", body, None));
        assert!(!signature_ok(b"s3cret", body, Some("sha256=zz")));
        assert!(!signature_ok(
            b"s3cret",
            body,
            Some(&good.replace("sha256=", "sha1="))
        ));
    }
}
