//! The desk page (`desk/`) as the local gateway serves it: `GET /`
//! leads to `/desk/` (its `index.html`), `GET /desk/{file}` is any of its
//! files (the page uses relative links, so it works from any folder), read from disk
//! at each request (an edit shows on reload). `POST /_local/token` is the
//! local-only sign-in: a token of the demo tenant for the role picked.

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::{json, Value};

use crate::demo::DEMO_TENANT;
use crate::jwt::Authorizer;
use crate::server::HttpResponse;

/// How long a token of the local sign-in lasts.
pub const LOCAL_TOKEN_SECONDS: i64 = 12 * 3600;

/// Where the desk's files are: `DESK_DIR`, else the project's `desk/`.
fn desk_dir() -> PathBuf {
    std::env::var_os("DESK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../desk"))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

/// The file a desk path names, if it is one: letters, digits, `-`, `_`,
/// `.` and `/` only, no `..`, no hidden files.
pub fn file_of(path: &str) -> Option<&str> {
    let rel = if path == "/desk/" {
        "index.html"
    } else {
        path.strip_prefix("/desk/")?
    };
    let clean = !rel.is_empty()
        && rel
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !rel
            .split('/')
            .any(|seg| seg.is_empty() || seg.starts_with('.'));
    clean.then_some(rel)
}

/// `GET /` and `GET /desk/...`.
/// The page's Content-Security-Policy, as the CDN serves it in AWS (there
/// the API and the sign-in are other origins; here everything is this one).
pub const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
    frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'";

pub fn serve(path: &str) -> HttpResponse {
    if path == "/" || path == "/desk" {
        return HttpResponse {
            status: 302,
            headers: vec![("location".into(), "/desk/".into())],
            body: vec![],
        };
    }
    let Some(rel) = file_of(path) else {
        return HttpResponse::json(404, &json!({"message": "Not Found"}));
    };
    match std::fs::read(desk_dir().join(rel)) {
        Ok(body) => HttpResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), content_type(rel).into()),
                ("cache-control".into(), "no-cache".into()),
                ("x-content-type-options".into(), "nosniff".into()),
                ("content-security-policy".into(), CSP.into()),
                ("referrer-policy".into(), "no-referrer".into()),
                ("x-frame-options".into(), "DENY".into()),
            ],
            body,
        },
        Err(_) => HttpResponse::json(404, &json!({"message": "Not Found"})),
    }
}

/// `POST /_local/token {"role": "agent", "agentId": "agent-1"}`: a token of
/// the demo tenant, as the local sign-in's role picker asks for.
pub fn token(jwt: &Authorizer, body: &[u8]) -> HttpResponse {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let role = v["role"].as_str().unwrap_or("");
    if !matches!(role, "agent" | "supervisor" | "admin") {
        return HttpResponse::json(
            400,
            &json!({"error": {"code": "invalid_request", "message": "role must be agent, supervisor or admin"}}),
        );
    }
    let default_agent = format!("{role}-1");
    let agent = v["agentId"]
        .as_str()
        .map(str::trim)
        .filter(|a| {
            !a.is_empty()
                && a.len() <= 64
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .unwrap_or(&default_agent);
    // A shorter life on request (to try the desk's renewal), never a longer one.
    let ttl = v["ttlSeconds"].as_i64().map_or(LOCAL_TOKEN_SECONDS, |t| {
        t.clamp(MIN_TOKEN_SECONDS, LOCAL_TOKEN_SECONDS)
    });
    let token = jwt.named_token_for(
        (DEMO_TENANT, agent, role),
        demo_name(agent),
        Utc::now().timestamp(),
        ttl,
    );
    HttpResponse::json(
        200,
        &json!({"token": token, "tenantId": DEMO_TENANT, "agentId": agent, "role": role,
                "expiresIn": ttl}),
    )
}

/// The shortest local token, in seconds.
pub const MIN_TOKEN_SECONDS: i64 = 10;

/// The name the demo's people go by (their token's `name`, as Cognito gives it).
pub fn demo_name(agent: &str) -> &str {
    match agent {
        "agent-1" => "Ana Lima",
        "agent-2" => "Bruno Reis",
        "supervisor-1" => "Carla Dias",
        "admin-1" => "Diego Alves",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_desks_own_files_are_served() {
        assert_eq!(file_of("/desk/"), Some("index.html"));
        assert_eq!(serve("/").headers[0], ("location".into(), "/desk/".into()));
        assert_eq!(file_of("/desk/js/app.js"), Some("js/app.js"));
        for bad in [
            "/desk/../Cargo.toml",
            "/desk/.env",
            "/desk//x",
            "/desk/a b",
            "/contacts",
            "/desk/%2e%2e/x",
        ] {
            assert_eq!(file_of(bad), None, "{bad}");
        }
        assert_eq!(serve("/desk/../../Cargo.toml").status, 404);
        let index = serve("/desk/");
        assert_eq!(index.status, 200);
        assert!(String::from_utf8_lossy(&index.body).contains("<html"));
    }

    #[test]
    fn the_page_is_served_with_its_security_headers() {
        let r = serve("/desk/index.html");
        assert_eq!(r.status, 200);
        let header = |name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let csp = header("content-security-policy").unwrap();
        for directive in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(header("x-content-type-options"), Some("nosniff"));
        assert_eq!(header("referrer-policy"), Some("no-referrer"));
    }

    #[test]
    fn the_local_sign_in_gives_a_token_the_gateway_accepts() {
        let jwt = Authorizer::local(b"s");
        let r = token(&jwt, br#"{"role": "supervisor"}"#);
        assert_eq!(r.status, 200);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        let claims = jwt
            .verify(v["token"].as_str().unwrap(), Utc::now().timestamp())
            .unwrap();
        assert_eq!(claims["sub"], "supervisor-1");
        assert_eq!(claims["custom:tenant_id"], DEMO_TENANT);
        assert_eq!(claims["name"], "Carla Dias");
        assert_eq!(v["expiresIn"], LOCAL_TOKEN_SECONDS);
        assert_eq!(token(&jwt, br#"{"role": "root"}"#).status, 400);
        let a2 = token(&jwt, br#"{"role": "agent", "agentId": "agent-2"}"#);
        let v: Value = serde_json::from_slice(&a2.body).unwrap();
        assert_eq!(v["agentId"], "agent-2");
        // A shorter life on request, within bounds.
        for (asked, given) in [
            (30, 30),
            (1, MIN_TOKEN_SECONDS),
            (10_000_000, LOCAL_TOKEN_SECONDS),
        ] {
            let r = token(
                &jwt,
                format!(r#"{{"role": "agent", "ttlSeconds": {asked}}}"#).as_bytes(),
            );
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["expiresIn"], given, "{asked}");
            let t = v["token"].as_str().unwrap();
            let now = Utc::now().timestamp();
            assert!(jwt.verify(t, now + given - 2).is_ok(), "{asked}");
            assert!(jwt.verify(t, now + given + 2).is_err(), "{asked}: expired");
        }
    }
}
