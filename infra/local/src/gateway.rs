//! The local API gateway: the routes of `template.yaml`, HS256 JWT checks as
//! API Gateway's JWT authorizer does them, and the HTTP API payload 2.0 event
//! (claims under `requestContext.authorizer.jwt.claims`, raw body, base64 flag)
//! handed to the same handler functions the Lambdas run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use afterhours_adapters::http::{ApiRequest, ApiResponse};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine;
use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::jwt;
use crate::server::{HttpRequest, HttpResponse};

/// Which function serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Webhook,
    Contacts,
    Send,
    Settings,
}

impl Function {
    /// The logical id of the function in `template.yaml`.
    pub fn template_id(self) -> &'static str {
        match self {
            Function::Webhook => "WebhookFunction",
            Function::Contacts => "ContactsFunction",
            Function::Send => "SendFunction",
            Function::Settings => "SettingsFunction",
        }
    }
}

/// (method, path template, function, needs a JWT). `template.yaml` declares the
/// same routes; a test keeps the two equal.
pub const ROUTES: &[(&str, &str, Function, bool)] = &[
    ("GET", "/webhook", Function::Webhook, false),
    ("POST", "/webhook", Function::Webhook, false),
    ("GET", "/contacts", Function::Contacts, true),
    ("GET", "/contacts/{id}", Function::Contacts, true),
    ("GET", "/contacts/{id}/quota", Function::Contacts, true),
    ("POST", "/contacts/{id}/handled", Function::Contacts, true),
    ("DELETE", "/contacts/{id}/handled", Function::Contacts, true),
    ("GET", "/templates", Function::Contacts, true),
    ("GET", "/quota", Function::Contacts, true),
    ("GET", "/agents", Function::Contacts, true),
    ("POST", "/active-messages", Function::Send, true),
    (
        "POST",
        "/contacts/{id}/active-messages",
        Function::Send,
        true,
    ),
    ("GET", "/settings", Function::Settings, true),
    ("PUT", "/settings", Function::Settings, true),
    ("PATCH", "/settings", Function::Settings, true),
    ("PUT", "/channels/{phoneNumberId}", Function::Settings, true),
    (
        "DELETE",
        "/channels/{phoneNumberId}",
        Function::Settings,
        true,
    ),
    ("PUT", "/templates", Function::Settings, true),
    ("POST", "/templates/sync", Function::Settings, true),
];

/// The route a request matches, with its path parameters.
pub fn match_route(
    method: &str,
    path: &str,
) -> Option<(&'static str, Function, bool, HashMap<String, String>)> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    'routes: for (m, template, f, auth) in ROUTES {
        if *m != method {
            continue;
        }
        let tsegs: Vec<&str> = template.split('/').collect();
        if tsegs.len() != segs.len() {
            continue;
        }
        let mut params = HashMap::new();
        for (t, s) in tsegs.iter().zip(&segs) {
            if let Some(name) = t.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                if s.is_empty() {
                    continue 'routes;
                }
                params.insert(name.to_string(), crate::server::percent_decode(s));
            } else if t != s {
                continue 'routes;
            }
        }
        return Some((template, *f, *auth, params));
    }
    None
}

pub struct Gateway {
    pub webhook: webhook::Deps,
    pub contacts: contacts::Deps,
    pub send: send::Deps,
    pub settings: settings::Deps,
    pub report: report::Deps,
    pub jwt: jwt::Authorizer,
    requests: AtomicU64,
}

/// The API's description (`infra/openapi.yaml`), served at `GET /openapi.json`.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// The largest body the gateway takes (API Gateway's HTTP API limit is 10 MB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A refusal by the gateway itself: API Gateway's own shape (`message`) and the
/// project's error shape side by side, so clients of either read it.
fn gateway_error(status: u16, message: &str) -> HttpResponse {
    let code = match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        _ => "bad_request",
    };
    HttpResponse::json(
        status,
        &json!({ "message": message, "error": {"code": code, "message": message} }),
    )
}

impl Gateway {
    pub fn new(
        webhook: webhook::Deps,
        contacts: contacts::Deps,
        send: send::Deps,
        settings: settings::Deps,
        report: report::Deps,
        jwt: jwt::Authorizer,
    ) -> Self {
        Gateway {
            webhook,
            contacts,
            send,
            settings,
            report,
            jwt,
            requests: AtomicU64::new(0),
        }
    }

    pub async fn handle(&self, req: HttpRequest) -> HttpResponse {
        if req.body.len() > MAX_BODY_BYTES {
            return crate::server::payload_too_large();
        }
        if req.path.starts_with("/_local/") {
            // Local-only routes: a loopback Host, same-origin only, no CORS header.
            return if local_only_allows(req.header("host"), req.header("origin")) {
                self.local_route(&req).await
            } else {
                gateway_error(403, "Forbidden")
            };
        }
        let mut res = if req.method == "GET" && req.path == "/openapi.json" {
            Self::openapi()
        } else if req.method == "GET" && (req.path == "/" || req.path.starts_with("/desk")) {
            return crate::desk::serve(&req.path);
        } else {
            self.route(req).await
        };
        res.headers
            .push(("access-control-allow-origin".into(), "*".into()));
        res.headers.push((
            "access-control-expose-headers".into(),
            EXPOSED_HEADERS.into(),
        ));
        res
    }

    /// `GET /openapi.json`: `infra/openapi.yaml`, as JSON.
    /// (Read once per process: the description never changes while it runs.)
    fn openapi() -> HttpResponse {
        static DOC: std::sync::OnceLock<Result<Value, String>> = std::sync::OnceLock::new();
        match DOC.get_or_init(|| serde_yaml::from_str(OPENAPI_YAML).map_err(|e| e.to_string())) {
            Ok(v) => HttpResponse::json(200, v),
            Err(e) => gateway_error(500, &format!("infra/openapi.yaml does not parse: {e}")),
        }
    }

    /// `POST /_local/report`: the scheduled report, now; `POST /_local/token`:
    /// the desk's local sign-in.
    async fn local_route(&self, req: &HttpRequest) -> HttpResponse {
        if req.method == "POST" && req.path == "/_local/token" {
            return crate::desk::token(&self.jwt, &req.body);
        }
        if req.method != "POST" || req.path != "/_local/report" {
            return gateway_error(404, "Not Found");
        }
        let runs = local_report(&self.report).await;
        let invocations = runs.len();
        let mut total = report::Summary::default();
        runs.into_iter().for_each(|r| total.merge(r));
        let mut body = serde_json::to_value(total).unwrap_or_default();
        body["invocations"] = invocations.into();
        HttpResponse::json(200, &body)
    }

    async fn route(&self, req: HttpRequest) -> HttpResponse {
        if req.method == "OPTIONS" {
            return preflight();
        }
        let Some((template, function, auth, params)) = match_route(&req.method, &req.path) else {
            return gateway_error(404, "Not Found");
        };
        let claims = if auth {
            let token = req.header("authorization").and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            });
            match token.map(|t| self.jwt.verify(t.trim(), Utc::now().timestamp())) {
                Some(Ok(c)) => Some(c),
                _ => return gateway_error(401, "Unauthorized"),
            }
        } else {
            None
        };
        let event = self.event(&req, template, params, claims);
        let api_req = match serde_json::from_value::<ApiGatewayV2httpRequest>(event) {
            Ok(ev) => ApiRequest::from_apigw(ev),
            Err(e) => return gateway_error(400, &format!("Bad request: {e}")),
        };
        let res: ApiResponse = match function {
            Function::Webhook => webhook::handle(&self.webhook, api_req).await,
            Function::Contacts => contacts::handle(&self.contacts, api_req).await,
            Function::Send => send::handle(&self.send, api_req).await,
            Function::Settings => settings::handle(&self.settings, api_req).await,
        };
        let out = res.to_apigw();
        let body = match out.body {
            Some(aws_lambda_events::encodings::Body::Text(t)) => t.into_bytes(),
            Some(aws_lambda_events::encodings::Body::Binary(b)) => b,
            _ => vec![],
        };
        let headers = afterhours_adapters::http::header_pairs(&out.headers).collect();
        HttpResponse {
            status: u16::try_from(out.status_code).unwrap_or(500),
            headers,
            body,
        }
    }

    /// The HTTP API payload 2.0 event API Gateway would send for this request.
    fn event(
        &self,
        req: &HttpRequest,
        template: &str,
        params: HashMap<String, String>,
        claims: Option<HashMap<String, String>>,
    ) -> Value {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let headers = merged(req.headers.iter().cloned());
        let query = merged(req.query_pairs());
        let (body, b64) = match std::str::from_utf8(&req.body) {
            Ok(s) => (s.to_string(), false),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(&req.body),
                true,
            ),
        };
        let route_key = format!("{} {template}", req.method);
        let now = Utc::now();
        let mut ctx = json!({
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {"method": req.method, "path": req.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": req.header("user-agent").unwrap_or("")},
            "requestId": format!("local-{}-{n}", now.timestamp_millis()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        });
        if let Some(c) = claims {
            ctx["authorizer"] = json!({"jwt": {"claims": c, "scopes": null}});
        }
        let mut ev = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": req.path,
            "rawQueryString": req.raw_query,
            "headers": headers,
            "requestContext": ctx,
            "isBase64Encoded": b64,
        });
        if !query.is_empty() {
            ev["queryStringParameters"] = Value::Object(query);
        }
        if !params.is_empty() {
            ev["pathParameters"] = json!(params);
        }
        if !req.body.is_empty() {
            ev["body"] = Value::String(body);
        }
        ev
    }
}

/// The answer to a CORS preflight, with what API Gateway's CorsConfiguration allows.
fn preflight() -> HttpResponse {
    let header = |k: &str, v: &str| (k.to_string(), v.to_string());
    HttpResponse {
        status: 204,
        headers: vec![
            header(
                "access-control-allow-methods",
                "GET,POST,PUT,PATCH,DELETE,OPTIONS",
            ),
            header(
                "access-control-allow-headers",
                "authorization,content-type,idempotency-key,if-match,accept-language",
            ),
            header("access-control-expose-headers", EXPOSED_HEADERS),
        ],
        body: vec![],
    }
}

/// The answer headers a browser's script may read.
const EXPOSED_HEADERS: &str = "retry-after,etag,idempotency-replay";

/// Whether a browser's `Origin` is the gateway itself (`http://{Host}`).
/// Whether a local-only route may answer: the `Host` names this machine's
/// loopback by address or as `localhost` (any port; a DNS name that merely
/// resolves to 127.0.0.1 is a rebinding and is refused), and an `Origin`, when
/// the client sent one, is that same host.
pub fn local_only_allows(host: Option<&str>, origin: Option<&str>) -> bool {
    let Some(host) = host.map(str::trim) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().map(|a| format!("[{a}]")),
        None => host.split(':').next().map(String::from),
    };
    let port_ok = |rest: &str| {
        rest.is_empty()
            || rest
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok())
    };
    let loopback = name.is_some_and(|n| {
        matches!(
            n.to_ascii_lowercase().as_str(),
            "127.0.0.1" | "localhost" | "[::1]"
        ) && port_ok(&host[n.len()..])
    });
    loopback && origin.is_none_or(|o| o.eq_ignore_ascii_case(&format!("http://{host}")))
}

/// How long one local "invocation" of the report may run before it hands the
/// rest on, like the Lambda does (`LOCAL_REPORT_BUDGET_SECONDS`, default 60).
fn local_report_budget() -> std::time::Duration {
    let secs = std::env::var("LOCAL_REPORT_BUDGET_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    std::time::Duration::from_secs(secs)
}

/// The report as the deployed stack runs it: invocations with a time budget,
/// each handing the rest of the tenants to the next. Here the hand-off is a
/// direct call instead of the continuation event. Returns each invocation's summary.
pub async fn local_report(deps: &report::Deps) -> Vec<report::Summary> {
    let mut runs = Vec::new();
    let mut input = report::RunInput::default();
    loop {
        let budget = report::Budget::until(std::time::Instant::now() + local_report_budget());
        let summary = report::run(deps, &input, &budget).await;
        let next = summary.continue_after.clone();
        input = report::RunInput {
            after: next.clone(),
            started_at: summary.started_at,
        };
        runs.push(summary);
        if next.is_none() {
            return runs;
        }
    }
}

/// Pairs as API Gateway passes repeated headers and query keys: one key, values joined by commas.
fn merged(pairs: impl IntoIterator<Item = (String, String)>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in pairs {
        let joined = match out.get(&k).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v,
        };
        out.insert(k, Value::String(joined));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_only_routes_answer_this_machines_names_only() {
        for (host, origin) in [
            ("127.0.0.1:3000", None),
            ("localhost:3000", Some("http://localhost:3000")),
            ("LOCALHOST", None),
            ("[::1]:3000", Some("http://[::1]:3000")),
            ("127.0.0.1", Some("http://127.0.0.1")),
        ] {
            assert!(local_only_allows(Some(host), origin), "{host} {origin:?}");
        }
        for (host, origin) in [
            (None, None),
            (Some("rebind.example:3000"), None),
            (
                Some("rebind.example:3000"),
                Some("http://rebind.example:3000"),
            ),
            (Some("127.0.0.1.rebind.example:3000"), None),
            (Some("localhost.example"), None),
            (Some("127.0.0.1:3000"), Some("http://127.0.0.1:3001")),
            (Some("127.0.0.1:3000"), Some("https://127.0.0.1:3000")),
            (Some("127.0.0.1:3000"), Some("null")),
            (Some("127.0.0.1:x"), None),
            (Some("[::1]x"), None),
            (Some("[::2]:3000"), None),
        ] {
            assert!(!local_only_allows(host, origin), "{host:?} {origin:?}");
        }
    }

    #[test]
    fn routes_match_with_their_parameters() {
        let (t, f, auth, p) = match_route("POST", "/contacts/abc/active-messages").unwrap();
        assert_eq!(
            (t, f, auth),
            ("/contacts/{id}/active-messages", Function::Send, true)
        );
        assert_eq!(p["id"], "abc");
        assert_eq!(
            match_route("GET", "/contacts/abc/quota").unwrap().1,
            Function::Contacts
        );
        assert_eq!(
            match_route("PUT", "/templates").unwrap().1,
            Function::Settings
        );
        assert!(!match_route("POST", "/webhook").unwrap().2);
        assert!(match_route("DELETE", "/contacts").is_none());
        assert!(match_route("GET", "/contacts//quota").is_none());
        assert!(match_route("GET", "/nope").is_none());
    }
}
