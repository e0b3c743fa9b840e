//! HS256 JWTs for the local stack: what API Gateway's JWT authorizer checks in
//! AWS (signature, expiry, issuer, audience), and minting tokens for the dev
//! CLI and tests.

use std::collections::HashMap;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

/// A signed (HS256) token with these claims.
pub fn mint(secret: &[u8], claims: &Value) -> String {
    // Serializing a JSON value and signing with HMAC (any key length) cannot fail.
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap_or_default()
}

/// The issuer the local stack's tokens carry unless `LOCAL_JWT_ISSUER` says otherwise.
pub const DEFAULT_ISSUER: &str = "afterhours-local";
/// The audience (app client) unless `LOCAL_JWT_AUDIENCE` says otherwise.
pub const DEFAULT_AUDIENCE: &str = "afterhours-desk";

/// What the local gateway accepts, as API Gateway's JWT authorizer is
/// configured: the signing key, the issuer, and the audience (`aud`, or
/// Cognito access tokens' `client_id`).
#[derive(Clone)]
pub struct Authorizer {
    secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
}

impl Authorizer {
    /// The defaults of the local stack, with this key.
    pub fn local(secret: &[u8]) -> Self {
        Authorizer {
            secret: secret.to_vec(),
            issuer: DEFAULT_ISSUER.into(),
            audience: DEFAULT_AUDIENCE.into(),
        }
    }

    /// `LOCAL_JWT_SECRET` (required), `LOCAL_JWT_ISSUER`, `LOCAL_JWT_AUDIENCE`.
    pub fn from_env() -> Result<Self, afterhours_adapters::config::ConfigError> {
        let secret = afterhours_adapters::config::required("LOCAL_JWT_SECRET")?;
        Ok(Self::with_secret_from_env(&secret))
    }

    /// This key, with the issuer and audience of the environment (or the defaults).
    pub fn with_secret_from_env(secret: &str) -> Self {
        use afterhours_adapters::config::or_default;
        Authorizer {
            secret: secret.as_bytes().to_vec(),
            issuer: or_default("LOCAL_JWT_ISSUER", DEFAULT_ISSUER),
            audience: or_default("LOCAL_JWT_AUDIENCE", DEFAULT_AUDIENCE),
        }
    }

    /// A token this authorizer accepts, for (tenant, agent, role), valid for `ttl_secs`.
    pub fn token_for(
        &self,
        tenant: &str,
        agent: &str,
        role: &str,
        now: i64,
        ttl_secs: i64,
    ) -> String {
        mint(
            &self.secret,
            &json!({"sub": agent, "custom:tenant_id": tenant, "cognito:groups": [role],
                    "iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + ttl_secs}),
        )
    }

    /// The same, with the person's `name` claim (what Cognito puts in an ID token).
    pub fn named_token_for(
        &self,
        (tenant, agent, role): (&str, &str, &str),
        name: &str,
        now: i64,
        ttl_secs: i64,
    ) -> String {
        mint(
            &self.secret,
            &json!({"sub": agent, "custom:tenant_id": tenant, "cognito:groups": [role], "name": name,
                    "iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + ttl_secs}),
        )
    }

    /// Verifies a token as API Gateway's authorizer does: signature, expiry,
    /// issuer and audience; returns its claims as the function sees them.
    pub fn verify(&self, token: &str, now: i64) -> Result<HashMap<String, String>, &'static str> {
        let claims = verify(&self.secret, token, now)?;
        if claims.get("iss") != Some(&self.issuer) {
            return Err("wrong issuer");
        }
        let audience_ok = claims.get("aud").is_some_and(|a| {
            a == &self.audience
                || a.trim_matches(|c| c == '[' || c == ']')
                    .split(' ')
                    .any(|x| x == self.audience)
        }) || claims.get("client_id") == Some(&self.audience);
        if !audience_ok {
            return Err("wrong audience");
        }
        Ok(with_local_shorthands(claims))
    }
}

/// The local stack's shorthand claims, `tenant_id` and `role`, as the
/// Cognito claims the functions read (`custom:tenant_id`, `cognito:groups`),
/// where the token does not carry those. Only this gateway does it: the
/// functions themselves accept Cognito's names alone, in AWS and here.
fn with_local_shorthands(mut claims: HashMap<String, String>) -> HashMap<String, String> {
    for (short, cognito) in [
        ("tenant_id", "custom:tenant_id"),
        ("role", "cognito:groups"),
    ] {
        if let Some(v) = claims.get(short).cloned() {
            claims.entry(cognito.to_string()).or_insert(v);
        }
    }
    claims
}

/// A token for (tenant, agent, role) valid for `ttl_secs`, with Cognito's
/// claim names and the local stack's default issuer and audience.
pub fn token_for(
    secret: &[u8],
    tenant: &str,
    agent: &str,
    role: &str,
    now: i64,
    ttl_secs: i64,
) -> String {
    Authorizer::local(secret).token_for(tenant, agent, role, now, ttl_secs)
}

/// Verifies an HS256 token's signature and times; returns its claims
/// flattened to strings the way API Gateway hands them to a function
/// (`["admin"]` becomes `[admin]`). [`Authorizer::verify`] also checks who
/// issued it and for whom.
pub fn verify(
    secret: &[u8],
    token: &str,
    now: i64,
) -> Result<HashMap<String, String>, &'static str> {
    // The signature and the algorithm here; the times below, against `now`,
    // and the issuer and audience in [`Authorizer::verify`].
    let mut rules = Validation::new(Algorithm::HS256);
    rules.validate_exp = false;
    rules.validate_aud = false;
    rules.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(secret), &rules)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => "invalid signature",
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                "unsupported algorithm"
            }
            _ => "malformed token",
        })?;
    let obj = data.claims.as_object().ok_or("malformed payload")?;
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
    use base64::Engine;

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
    fn a_token_for_another_issuer_or_app_is_refused_like_api_gateway_does() {
        let auth = Authorizer::local(b"k");
        let good = auth.token_for("t1", "a-1", "agent", 1000, 60);
        assert!(auth.verify(&good, 1001).is_ok());
        let claims = |extra: Value| {
            let mut c = json!({"sub": "a", "custom:tenant_id": "t", "cognito:groups": ["agent"], "exp": 2000});
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            mint(b"k", &c)
        };
        let other_app = claims(json!({"iss": DEFAULT_ISSUER, "aud": "another-app"}));
        assert_eq!(auth.verify(&other_app, 1001), Err("wrong audience"));
        let other_issuer = claims(json!({"iss": "someone-else", "aud": DEFAULT_AUDIENCE}));
        assert_eq!(auth.verify(&other_issuer, 1001), Err("wrong issuer"));
        let no_claims = claims(json!({}));
        assert_eq!(auth.verify(&no_claims, 1001), Err("wrong issuer"));
        // Cognito access tokens name the app client in `client_id`; `aud` may be a list.
        let access = claims(json!({"iss": DEFAULT_ISSUER, "client_id": DEFAULT_AUDIENCE}));
        assert!(auth.verify(&access, 1001).is_ok());
        let listed = claims(json!({"iss": DEFAULT_ISSUER, "aud": ["x", DEFAULT_AUDIENCE]}));
        assert!(auth.verify(&listed, 1001).is_ok());
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
        // `none` is no algorithm at all: the token does not even read.
        assert_eq!(verify(b"k", &none, 0), Err("malformed token"));
        // Another real algorithm, even signed with the right key, is not the authorizer's.
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &json!({"exp": 9999999999_i64}),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert_eq!(verify(b"k", &hs512, 0), Err("unsupported algorithm"));
    }

    #[test]
    fn the_gateway_maps_the_local_shorthands_and_keeps_cognitos_claims() {
        let auth = Authorizer::local(b"k");
        let base = json!({"iss": DEFAULT_ISSUER, "aud": DEFAULT_AUDIENCE, "exp": 2000, "sub": "a"});
        let mut short = base.clone();
        short["tenant_id"] = json!("t");
        short["role"] = json!("admin");
        let c = auth.verify(&mint(b"k", &short), 1000).unwrap();
        assert_eq!(
            (c["custom:tenant_id"].as_str(), c["cognito:groups"].as_str()),
            ("t", "admin")
        );
        // A token with Cognito's own claims keeps them, whatever else it says.
        let mut both = short.clone();
        both["custom:tenant_id"] = json!("t2");
        both["cognito:groups"] = json!(["agent"]);
        let c = auth.verify(&mint(b"k", &both), 1000).unwrap();
        assert_eq!(
            (c["custom:tenant_id"].as_str(), c["cognito:groups"].as_str()),
            ("t2", "[agent]")
        );
    }
}
