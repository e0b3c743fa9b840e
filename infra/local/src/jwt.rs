//! HS256 JWTs for the local stack: what API Gateway's JWT authorizer checks in
//! AWS (signature, expiry), and minting tokens for the dev CLI and tests.

use std::collections::HashMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A signed token with these claims.
pub fn mint(secret: &[u8], claims: &Value) -> String {
    let header = B64.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let payload = B64.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{header}.{payload}").as_bytes());
    format!(
        "{header}.{payload}.{}",
        B64.encode(mac.finalize().into_bytes())
    )
}

/// A token for (tenant, agent, role) valid for `ttl_secs`, with Cognito's claim names.
pub fn token_for(
    secret: &[u8],
    tenant: &str,
    agent: &str,
    role: &str,
    now: i64,
    ttl_secs: i64,
) -> String {
    mint(
        secret,
        &json!({"sub": agent, "custom:tenant_id": tenant, "cognito:groups": [role], "iat": now, "exp": now + ttl_secs}),
    )
}

/// Verifies an HS256 token; returns its claims flattened to strings the way
/// API Gateway hands them to a function (`["admin"]` becomes `[admin]`).
pub fn verify(
    secret: &[u8],
    token: &str,
    now: i64,
) -> Result<HashMap<String, String>, &'static str> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed token");
    };
    let header: Value = serde_json::from_slice(&B64.decode(h).map_err(|_| "malformed header")?)
        .map_err(|_| "malformed header")?;
    if header["alg"] != "HS256" {
        return Err("unsupported algorithm");
    }
    let sig = B64.decode(sig).map_err(|_| "malformed signature")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| "bad secret")?;
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&sig).map_err(|_| "invalid signature")?;
    let claims: Value = serde_json::from_slice(&B64.decode(p).map_err(|_| "malformed payload")?)
        .map_err(|_| "malformed payload")?;
    let obj = claims.as_object().ok_or("malformed payload")?;
    match obj.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now => {}
        Some(_) => return Err("token expired"),
        None => return Err("token has no exp"),
    }
    if obj
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now)
    {
        return Err("token not yet valid");
    }
    Ok(obj.iter().map(|(k, v)| (k.clone(), flatten(v))).collect())
}

fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(flatten).collect::<Vec<_>>().join(" ")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_with_api_gateway_style_claims() {
        let t = token_for(b"k", "t1", "a-1", "admin", 1000, 60);
        let c = verify(b"k", &t, 1001).unwrap();
        assert_eq!(c["sub"], "a-1");
        assert_eq!(c["custom:tenant_id"], "t1");
        assert_eq!(c["cognito:groups"], "[admin]");
        assert_eq!(c["exp"], "1060");
    }

    #[test]
    fn wrong_key_expiry_and_garbage_are_refused() {
        let t = token_for(b"k", "t1", "a-1", "agent", 1000, 60);
        assert_eq!(verify(b"other", &t, 1001), Err("invalid signature"));
        assert_eq!(verify(b"k", &t, 1060), Err("token expired"));
        assert!(verify(b"k", "a.b", 0).is_err());
        assert!(verify(b"k", "", 0).is_err());
        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none"}"#),
            B64.encode(r#"{"exp":9999999999}"#)
        );
        assert_eq!(verify(b"k", &none, 0), Err("unsupported algorithm"));
    }
}
