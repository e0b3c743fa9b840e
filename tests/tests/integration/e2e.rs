//! The user's journey over real HTTP through the local gateway (the same one
//! `make run` starts), with DynamoDB Local, the moto bus and the WhatsApp
//! sandbox: a customer writes at night, asks for a callback, an agent answers
//! within the cap, and the report shows only what is still pending.

use std::sync::Arc;

use afterhours_adapters::cursor::CursorSigner;
use afterhours_adapters::events::Publisher;
use afterhours_adapters::lambda::system_clock;
use afterhours_local::gateway::Gateway;
use afterhours_local::jwt;
use afterhours_rules::prompt::YES_ID;
use afterhours_tests::*;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

struct Stack {
    api: String,
    http: reqwest::Client,
    graph: GraphStandIn,
    watcher: BusWatcher,
    secret: Vec<u8>,
    store: afterhours_adapters::store::Store,
}

async fn start() -> Stack {
    let store = fresh_store().await;
    let graph = GraphStandIn::start().await;
    let eb = eventbridge().await;
    let bus = unique("bus");
    let watcher = BusWatcher::start(&eb, &bus).await;
    let secret = b"e2e-jwt-secret".to_vec();
    let gateway = Gateway::new(
        webhook::Deps::new(
            store.clone(),
            graph.client(),
            APP_SECRET,
            "verify",
            system_clock(),
        ),
        contacts::Deps {
            store: store.clone(),
            cursors: CursorSigner::new(b"c").unwrap(),
            clock: system_clock(),
            rules: Default::default(),
            names: contacts::name_cache(),
        },
        send::Deps {
            rules: Default::default(),
            store: store.clone(),
            graph: graph.client(),
            events: Publisher::new(eb.clone(), &bus),
            clock: system_clock(),
        },
        settings::Deps::new(store.clone(), Some(graph.client())),
        report::Deps::new(store.clone(), Publisher::new(eb, &bus), system_clock()),
        afterhours_local::jwt::Authorizer::local(&secret),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    afterhours_local::stack::spawn_gateway(listener, Arc::new(gateway));
    Stack {
        api,
        http: http_client(),
        graph,
        watcher,
        secret,
        store,
    }
}

impl Stack {
    fn token(&self, tenant: &str, agent: &str, role: &str) -> String {
        jwt::token_for(
            &self.secret,
            tenant,
            agent,
            role,
            Utc::now().timestamp(),
            600,
        )
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.api));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        )
    }

    async fn webhook(&self, body: Vec<u8>) -> u16 {
        let res = self
            .http
            .post(format!("{}/webhook", self.api))
            .header("x-hub-signature-256", sign(APP_SECRET, &body))
            .body(body)
            .send()
            .await
            .unwrap();
        res.status().as_u16()
    }
}

/// A moment of last night that the tenant's schedule (never open) treats as closed.
fn last_night() -> chrono::DateTime<Utc> {
    Utc::now() - Duration::hours(3)
}

#[tokio::test]
async fn a_customers_night_and_an_agents_callback() {
    let s = start().await;
    let tenant = unique("e2e");
    let admin = s.token(&tenant, "admin-1", "admin");
    let agent = s.token(&tenant, "a-1", "agent");
    let other_agent = s.token(&tenant, "a-2", "agent");
    let pnid = "5550001";
    s.graph
        .sandbox
        .set_phone_numbers("300000000000001", &[pnid]);

    // The admin sets the tenant up (closed all week, prompt on, cap 1).
    let settings_doc = json!({"timezone": "America/Sao_Paulo", "language": "pt_BR", "alwaysOpen": false, "notifyNextServiceHours": true,
        "businessHours": {"weekly": {}, "exceptions": []}, "activeMessageLimit": {"enabled": true, "maxPerContactPer24h": 1}});
    assert_eq!(
        s.call("PUT", "/settings", Some(&admin), Some(settings_doc))
            .await
            .0,
        200
    );
    // The platform operator granted the tenant its business account.
    s.store
        .grant_account(&tenant, "300000000000001")
        .await
        .unwrap();
    assert_eq!(
        s.call(
            "PUT",
            &format!("/channels/{pnid}"),
            Some(&admin),
            Some(json!({"wabaId": "300000000000001", "displayPhoneNumber": "+1", "defaultAgentId": "a-1"}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        s.call(
            "PUT",
            "/templates",
            Some(&admin),
            Some(afterhours_tests::meta_templates())
        )
        .await
        .0,
        200
    );
    assert_eq!(
        s.call("GET", "/contacts", None, None).await.0,
        401,
        "no token, no entry"
    );

    // Two customers write at night; each gets one prompt.
    let t = last_night().timestamp();
    assert_eq!(
        s.webhook(messages_payload(
            pnid,
            &[
                ("wamid.e1", "5511900000001", t, Some("Maria")),
                ("wamid.e2", "5511900000002", t + 30, Some("João"))
            ]
        ))
        .await,
        200
    );
    let prompts = s.graph.sandbox.sent();
    assert_eq!(prompts.len(), 2);
    // Both tap Yes.
    for (i, p) in prompts.iter().enumerate() {
        let to = p["body"]["to"].as_str().unwrap();
        let tap = envelope(
            pnid,
            json!({"contacts": [{"wa_id": to}], "messages": [{"from": to, "id": format!("wamid.tap{i}"),
            "timestamp": (t + 60).to_string(), "type": "interactive", "context": {"from": pnid, "id": p["wamid"]},
            "interactive": {"type": "button_reply", "button_reply": {"id": YES_ID, "title": "Sim"}}}]}),
        );
        assert_eq!(s.webhook(tap).await, 200);
    }

    // The agent sees both: Yes, not sent, with the quota.
    let (st, list, _) = s
        .call(
            "GET",
            "/contacts?requestedCallback=yes&messageSent=false",
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(st, 200, "{list}");
    let items = list["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let maria = items
        .iter()
        .find(|i| i["contact"] == "+5511900000001")
        .unwrap()
        .clone();
    assert_eq!(maria["quota"]["remaining"], 1);
    let id = maria["id"].as_str().unwrap();

    // Sends a template; the record is marked sent.
    let body = json!({"template": {"name": "retorno", "language": "pt_BR"}, "variables": {"1": "Maria", "2": "ontem"}});
    let url = format!("/contacts/{id}/active-messages");
    let (st, sent, _) = s.call("POST", &url, Some(&agent), Some(body.clone())).await;
    assert_eq!(st, 200, "{sent}");
    let (_, one, _) = s
        .call("GET", &format!("/contacts/{id}"), Some(&agent), None)
        .await;
    assert_eq!(one["messageSent"], true);
    assert_eq!(one["messageId"], sent["messageId"]);

    // Another agent may not send on it; the cap refuses the next send with the time until possible.
    assert_eq!(
        s.call("POST", &url, Some(&other_agent), Some(body.clone()))
            .await
            .0,
        403
    );
    let (st, refused, headers) = s.call("POST", &url, Some(&agent), Some(body)).await;
    assert_eq!(st, 429, "{refused}");
    assert_eq!(refused["error"]["code"], "active_message_limit_reached");
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 23 * 3600 && retry <= 24 * 3600, "{retry}");
    // The tenant speaks pt_BR: the sentence is Portuguese, with the local time it frees up.
    let sentence = refused["error"]["message"].as_str().unwrap();
    assert!(
        sentence.contains("Você poderá enviar outra às"),
        "{sentence}"
    );

    // The report shows only the callback still pending.
    let (st, summary, _) = s.call("POST", "/_local/report", None, None).await;
    assert_eq!(st, 200);
    assert_eq!(summary["records"], 1, "{summary}");
    let events = s.watcher.drain().await;
    let of = |kind: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["detail-type"] == kind && e["detail"]["tenantId"] == tenant.as_str())
            .collect()
    };
    let mine = of("UnansweredCallbacksReport");
    assert_eq!(mine.len(), 1);
    let callbacks = &mine[0]["detail"]["agents"][0]["callbacks"];
    assert_eq!(callbacks.as_array().unwrap().len(), 1);
    assert_eq!(callbacks[0]["contact"], "+5511900000002");
    // Sent on the bus too: the ActiveMessageSent event.
    assert_eq!(of("ActiveMessageSent").len(), 1);
    assert!(s
        .graph
        .sandbox
        .sent()
        .iter()
        .all(|m| m["problems"].as_array().unwrap().is_empty()));
}

#[tokio::test]
async fn the_gateway_checks_identity_like_api_gateway_and_keeps_local_routes_local() {
    let s = start().await;
    let now = Utc::now().timestamp();
    let mint = |claims: Value| afterhours_local::jwt::mint(&s.secret, &claims);
    let base = json!({"sub": "a-1", "custom:tenant_id": "t", "cognito:groups": ["agent"], "exp": now + 600});
    let with = |extra: Value| {
        let mut c = base.clone();
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        mint(c)
    };
    let good = with(json!({"iss": "afterhours-local", "aud": "afterhours-desk"}));
    assert_eq!(s.call("GET", "/contacts", Some(&good), None).await.0, 200);
    for bad in [
        with(json!({"iss": "afterhours-local", "aud": "another-app"})),
        with(json!({"iss": "someone-else", "aud": "afterhours-desk"})),
        mint(base.clone()),
    ] {
        let (st, body, _) = s.call("GET", "/contacts", Some(&bad), None).await;
        assert_eq!(st, 401, "{body}");
    }
    // Local-only routes answer only same-origin requests, with no CORS header.
    let local = |origin: Option<&str>| {
        let mut req = s.http.post(format!("{}/_local/report", s.api));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let refused = local(Some("http://evil.example")).await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let host = s.api.trim_start_matches("http://").to_string();
    let same = local(Some(&format!("http://{host}"))).await.unwrap();
    assert_eq!(same.status().as_u16(), 200);
    assert!(same.headers().get("access-control-allow-origin").is_none());
    assert_eq!(local(None).await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_local_token_is_refused_to_a_rebound_dns_name_and_to_other_origins() {
    let s = start().await;
    let port = s.api.rsplit(':').next().unwrap().to_string();
    let token = |host: String, origin: Option<String>| {
        let mut req = s
            .http
            .post(format!("{}/_local/token", s.api))
            .header("host", host)
            .body(r#"{"role": "admin"}"#);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // A page on a DNS name that resolves to 127.0.0.1 is same-origin with itself: refused.
    let rebound = format!("rebind.example:{port}");
    assert_eq!(
        token(rebound.clone(), Some(format!("http://{rebound}"))).await,
        403
    );
    assert_eq!(token(rebound, None).await, 403);
    // Another local origin (another port) is refused too.
    let other = format!("http://127.0.0.1:{}", port.parse::<u16>().unwrap() ^ 1);
    assert_eq!(token(format!("127.0.0.1:{port}"), Some(other)).await, 403);
    // This machine's own names: the page (same origin) and the dev CLI (no Origin).
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(
            token(host.clone(), Some(format!("http://{host}"))).await,
            200,
            "{host}"
        );
        assert_eq!(token(host.clone(), None).await, 200, "{host}");
    }
}

#[tokio::test]
async fn bodies_are_limited_while_read_on_every_route() {
    let s = start().await;
    let big = vec![b'x'; afterhours_local::gateway::MAX_BODY_BYTES + 1];
    for path in ["/_local/token", "/_local/report", "/webhook", "/settings"] {
        let res = s
            .http
            .post(format!("{}{path}", s.api))
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 413, "{path}");
        let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large", "{path}");
    }
    // A body streamed without a length, and never finished, is answered as
    // soon as it passes the limit (not buffered to its end, which never comes).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = s.api.trim_start_matches("http://").to_string();
    let conn = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut rx, mut tx) = conn.into_split();
    let writer = tokio::spawn(async move {
        let head = format!(
            "POST /_local/token HTTP/1.1\r\nhost: {host}\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        tx.write_all(head.as_bytes()).await?;
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..11 {
            tx.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            tx.write_all(&chunk).await?;
            tx.write_all(b"\r\n").await?;
        }
        std::future::pending::<()>().await;
        Ok::<_, std::io::Error>(tx)
    });
    let mut head = [0u8; 12];
    rx.read_exact(&mut head).await.unwrap();
    writer.abort();
    assert_eq!(&head, b"HTTP/1.1 413");
}

#[tokio::test]
async fn dynamodb_local_answers_cors_only_for_the_local_gateways_page() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| {
        format!(
            "http://127.0.0.1:{}",
            std::env::var("DDB_PORT").unwrap_or("8000".into())
        )
    });
    let gateway_port = std::env::var("LOCAL_API_PORT").unwrap_or_else(|_| "3000".into());
    let http = http_client();
    let preflight = |origin: String| {
        http.request(reqwest::Method::OPTIONS, &endpoint)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-amz-target,authorization",
            )
            .send()
    };
    let allowed = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap_or("").to_string())
    };
    let evil = preflight("http://evil.example".into()).await.unwrap();
    assert_eq!(allowed(&evil), None);
    let page = format!("http://127.0.0.1:{gateway_port}");
    let ours = preflight(page.clone()).await.unwrap();
    assert_eq!(allowed(&ours), Some(page));
}

/// How many contact records a customer has in the tenant (any agent).
async fn records_of(s: &Stack, tenant: &str, customer: &str) -> usize {
    let admin = s.token(tenant, "sup-1", "supervisor");
    let (status, body, _) = s
        .call("GET", "/contacts?agentId=a-1", Some(&admin), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["contact"].as_str().unwrap_or("").ends_with(customer))
        .count()
}

#[tokio::test]
async fn an_unbound_or_revoked_number_is_no_longer_routed() {
    let s = start().await;
    let tenant = unique("unbind");
    let admin = s.token(&tenant, "admin-1", "admin");
    let (pnid, waba) = ("5550002", "300000000000002");
    s.graph.sandbox.set_phone_numbers(waba, &[pnid]);
    let settings_doc = json!({"timezone": "America/Sao_Paulo", "language": "pt_BR", "alwaysOpen": false, "notifyNextServiceHours": false,
        "businessHours": {"weekly": {}, "exceptions": []}, "activeMessageLimit": {"enabled": false, "maxPerContactPer24h": 1}});
    let path = format!("/channels/{pnid}");
    let bind = || {
        s.call(
            "PUT",
            &path,
            Some(&admin),
            Some(json!({"wabaId": waba, "displayPhoneNumber": "+1", "defaultAgentId": "a-1"})),
        )
    };
    assert_eq!(
        s.call("PUT", "/settings", Some(&admin), Some(settings_doc))
            .await
            .0,
        200
    );
    // Not granted yet: refused, in the tenant's language.
    let (status, body, _) = bind().await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("business_account_not_granted")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operador da plataforma"),
        "{body}"
    );
    s.store.grant_account(&tenant, waba).await.unwrap();
    assert_eq!(bind().await.0, 200);
    let t = last_night().timestamp();
    let write = |id: &'static str, from: &'static str| {
        s.webhook(messages_payload(pnid, &[(id, from, t, None)]))
    };
    assert_eq!(write("wamid.u1", "5511910000001").await, 200);
    assert_eq!(records_of(&s, &tenant, "5511910000001").await, 1);

    // Unbound: the webhook still answers 200 (Meta must not retry) but records nothing.
    let (status, _, _) = s
        .call("DELETE", &format!("/channels/{pnid}"), Some(&admin), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(write("wamid.u2", "5511910000002").await, 200);
    assert_eq!(records_of(&s, &tenant, "5511910000002").await, 0);
    // The earlier record stays until it expires.
    assert_eq!(records_of(&s, &tenant, "5511910000001").await, 1);

    // Bound again, then the operator revokes the account: unbound, and not bindable.
    assert_eq!(bind().await.0, 200);
    let revoked = s.store.revoke_account(&tenant, waba).await.unwrap();
    assert_eq!(revoked.unbound, vec![pnid.to_string()]);
    assert_eq!(write("wamid.u3", "5511910000003").await, 200);
    assert_eq!(records_of(&s, &tenant, "5511910000003").await, 0);
    assert_eq!(bind().await.0, 403);
}
