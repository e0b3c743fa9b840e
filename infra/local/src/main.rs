//! `afterhours-local`: the local stack and the dev CLI.
//!
//! ```text
//! afterhours-local run                      table, bus, demo tenant, sandbox and gateway (what `make run` starts)
//! afterhours-local token  --tenant T --agent A --role agent|supervisor|admin [--ttl SECONDS]
//! afterhours-local webhook --from PHONE [--phone-number-id ID] [--name N | --no-name] [--text T]
//!                          [--button yes|no --context WAMID] [--at RFC3339 | --minutes-ago N | --last-night]
//!                          [--user-id ID]
//! afterhours-local status --wamid W --status sent|delivered|read|failed [--phone-number-id ID] [--to PHONE]
//! afterhours-local report                   run the unanswered-callbacks report now
//! afterhours-local sandbox                  what the WhatsApp sandbox received
//! afterhours-local setup                    only create the table and bus and seed the demo tenant
//! afterhours-local bench --dir DIR [--runs N]  cold starts of the function binaries in DIR (SPEC §10)
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use afterhours_adapters::config::{or_default, required};
use afterhours_local::{jwt, sandbox::Sandbox, stack};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

type Args = HashMap<String, String>;

fn parse_args(args: &[String]) -> Args {
    let mut out = HashMap::new();
    let mut i = 0;
    while i < args.len() {
        if let Some(k) = args[i].strip_prefix("--") {
            match args.get(i + 1).filter(|v| !v.starts_with("--")) {
                Some(v) => {
                    out.insert(k.to_string(), v.clone());
                    i += 1;
                }
                None => {
                    out.insert(k.to_string(), "true".into());
                }
            }
        }
        i += 1;
    }
    out
}

fn api_url() -> String {
    format!("http://127.0.0.1:{}", or_default("LOCAL_API_PORT", "3000"))
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = argv
        .split_first()
        .map(|(c, r)| (c.as_str(), r))
        .unwrap_or(("help", &[]));
    let args = parse_args(rest);
    let result = match cmd {
        "run" => run().await,
        "setup" => setup().await,
        "bench" => bench(&args).await,
        "token" => token(&args),
        "webhook" => webhook(&args).await,
        "status" => status(&args).await,
        "report" => post_json(&format!("{}/_local/report", api_url()), &[], "").await,
        "sandbox" => {
            get(&format!(
                "{}/_sandbox/messages",
                or_default("WHATSAPP_API_BASE_URL", "http://127.0.0.1:4020")
            ))
            .await
        }
        _ => {
            println!(
                "{}",
                include_str!("main.rs")
                    .lines()
                    .skip(2)
                    .take(14)
                    .map(|l| l.trim_start_matches("//! "))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    afterhours_adapters::logging::init();
    let store = stack::bootstrap().await.map_err(|e| e.to_string())?;
    stack::seed_demo(&store).await?;
    let sandbox_port = or_default("SANDBOX_PORT", "4020");
    let sandbox = Arc::new(Sandbox::new(
        &required("WHATSAPP_TOKEN").map_err(|e| e.to_string())?,
    ));
    match tokio::net::TcpListener::bind(format!("127.0.0.1:{sandbox_port}")).await {
        Ok(l) => drop(stack::spawn_sandbox(l, sandbox)),
        Err(e) => eprintln!("warning: WhatsApp sandbox not started on {sandbox_port}: {e}"),
    }
    let gateway = Arc::new(stack::gateway_from_env().await.map_err(|e| e.to_string())?);
    let port = or_default("LOCAL_API_PORT", "3000");
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .map_err(|e| format!("port {port}: {e}"))?;
    let secret = required("LOCAL_JWT_SECRET").map_err(|e| e.to_string())?;
    let now = Utc::now().timestamp();
    let tok = |agent: &str, role: &str| {
        jwt::token_for(
            secret.as_bytes(),
            stack::DEMO_TENANT,
            agent,
            role,
            now,
            12 * 3600,
        )
    };
    println!(
        r#"
afterhours is running on loopback:
  API gateway        http://127.0.0.1:{port}      (routes of template.yaml, JWT HS256 with LOCAL_JWT_SECRET)
  WhatsApp sandbox   http://127.0.0.1:{sandbox_port}      (GET /_sandbox/messages shows what was sent)
  WhatsApp API used  {graph}
  DynamoDB Local     {ddb}   table {table}
  EventBridge (moto) {eb}   bus {bus}

Demo tenant "{tenant}": channel {pnid}, default agent {agent}, São Paulo hours Mon-Fri 08:00-18:00, cap 2 per 24 h.
Tokens (12 h):
  agent      {t_agent}
  supervisor {t_sup}
  admin      {t_admin}

Try (the dev CLI uses the same local defaults):
  export TOKEN={t_agent}
  {cli} webhook --from 5511999990000 --name Maria --last-night --text "oi"
  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:{port}/contacts
  {cli} sandbox
  {cli} report
Ctrl-C stops everything `make run` started.
"#,
        graph = or_default("WHATSAPP_API_BASE_URL", "-"),
        ddb = or_default("AWS_ENDPOINT_URL_DYNAMODB", "-"),
        eb = or_default("AWS_ENDPOINT_URL_EVENTBRIDGE", "-"),
        table = or_default("TABLE_NAME", "-"),
        bus = or_default("EVENT_BUS_NAME", "afterhours"),
        tenant = stack::DEMO_TENANT,
        pnid = stack::DEMO_PHONE_NUMBER_ID,
        agent = stack::DEMO_AGENT,
        t_agent = tok(stack::DEMO_AGENT, "agent"),
        t_sup = tok("supervisor-1", "supervisor"),
        t_admin = tok("admin-1", "admin"),
        cli = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "afterhours-local".into()),
    );
    let server = stack::spawn_gateway(listener, gateway);
    tokio::select! {
        _ = server => Err("the gateway stopped".into()),
        _ = tokio::signal::ctrl_c() => { println!("stopping"); Ok(()) }
    }
}

async fn setup() -> Result<(), String> {
    let store = stack::bootstrap().await.map_err(|e| e.to_string())?;
    stack::seed_demo(&store).await?;
    println!("table {} and the demo tenant are ready", store.table());
    Ok(())
}

/// The event each function gets for its first invocation in the benchmark.
fn bench_event(function: &str) -> Value {
    let claims = json!({"sub": stack::DEMO_AGENT, "custom:tenant_id": stack::DEMO_TENANT, "cognito:groups": "[agent]"});
    let http = |method: &str, path: &str, query: Value, body: Option<&str>| {
        json!({"version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": "",
            "headers": {"content-type": "application/json"}, "queryStringParameters": query,
            "pathParameters": {"id": "YWdlbnQtMQo1NTExCjE"},
            "requestContext": {"http": {"method": method, "path": path}, "requestId": "bench",
                "authorizer": {"jwt": {"claims": claims, "scopes": null}}},
            "body": body, "isBase64Encoded": false})
    };
    match function {
        "webhook" => http(
            "GET",
            "/webhook",
            json!({"hub.mode": "subscribe", "hub.verify_token": or_default("VERIFY_TOKEN", ""), "hub.challenge": "42"}),
            None,
        ),
        "contacts" => http("GET", "/contacts", json!({}), None),
        "settings" => http("GET", "/settings", json!({}), None),
        "send" => http(
            "POST",
            "/contacts/YWdlbnQtMQo1NTExCjE/active-messages",
            json!({}),
            Some(r#"{"template":{"name":"x","language":"pt_BR"}}"#),
        ),
        _ => json!({"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}}),
    }
}

async fn bench(args: &Args) -> Result<(), String> {
    let dir = args
        .get("dir")
        .ok_or("--dir (the folder with the release binaries) is required")?;
    let runs: usize = args
        .get("runs")
        .map(|r| r.parse())
        .transpose()
        .map_err(|_| "--runs takes a number")?
        .unwrap_or(10);
    println!(
        "{:<9} {:>10} {:>10} {:>10} {:>12} {:>11}  first response",
        "function", "init p50", "init max", "cold p50", "peak RSS", "size"
    );
    for f in ["webhook", "contacts", "send", "settings", "report"] {
        let bin = format!("{dir}/{f}");
        let size = std::fs::metadata(&bin)
            .map(|m| m.len())
            .map_err(|e| format!("{bin}: {e}"))?;
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(
                afterhours_local::bench::cold_start(
                    &bin,
                    &bench_event(f),
                    std::time::Duration::from_secs(20),
                )
                .await?,
            );
        }
        let mut init: Vec<f64> = samples
            .iter()
            .map(|s| s.init.as_secs_f64() * 1000.0)
            .collect();
        let mut cold: Vec<f64> = samples
            .iter()
            .map(|s| s.first_response.as_secs_f64() * 1000.0)
            .collect();
        init.sort_by(f64::total_cmp);
        cold.sort_by(f64::total_cmp);
        let rss = samples.iter().map(|s| s.peak_rss_kb).max().unwrap_or(0);
        let status = samples
            .last()
            .map(|s| s.response.get("statusCode").cloned().unwrap_or(json!("ok")))
            .unwrap_or_default();
        println!(
            "{f:<9} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>9.1} MB {:>8.2} MB  {status}",
            init[init.len() / 2],
            init[init.len() - 1],
            cold[cold.len() / 2],
            rss as f64 / 1024.0,
            size as f64 / 1_048_576.0
        );
    }
    Ok(())
}

fn token(args: &Args) -> Result<(), String> {
    let secret = or_default("LOCAL_JWT_SECRET", "local-jwt-secret");
    let get = |k: &str, d: &str| args.get(k).cloned().unwrap_or_else(|| d.to_string());
    let ttl: i64 = get("ttl", "43200")
        .parse()
        .map_err(|_| "--ttl takes seconds")?;
    println!(
        "{}",
        jwt::token_for(
            secret.as_bytes(),
            &get("tenant", stack::DEMO_TENANT),
            &get("agent", stack::DEMO_AGENT),
            &get("role", "agent"),
            Utc::now().timestamp(),
            ttl
        )
    );
    Ok(())
}

/// The most recent 23:10 in the demo tenant's zone (São Paulo): always outside its hours.
fn last_night(now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::TimeZone;
    let tz = chrono_tz::America::Sao_Paulo;
    let local = now.with_timezone(&tz);
    (0..3)
        .filter_map(|back| local.date_naive().checked_sub_days(chrono::Days::new(back)))
        .filter_map(|d| {
            d.and_hms_opt(23, 10, 0)
                .and_then(|n| tz.from_local_datetime(&n).earliest())
        })
        .map(|t| t.with_timezone(&Utc))
        .find(|t| *t <= now)
        .unwrap_or(now - Duration::hours(24))
}

fn when(args: &Args) -> Result<DateTime<Utc>, String> {
    if args.contains_key("last-night") {
        return Ok(last_night(Utc::now()));
    }
    if let Some(at) = args.get("at") {
        return DateTime::parse_from_rfc3339(at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("--at: {e}"));
    }
    let ago: i64 = args
        .get("minutes-ago")
        .map(|m| m.parse())
        .transpose()
        .map_err(|_| "--minutes-ago takes minutes")?
        .unwrap_or(0);
    Ok(Utc::now() - Duration::minutes(ago))
}

fn envelope(pnid: &str, value: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": pnid, "phone_number_id": pnid}, "contacts": value["contacts"], "messages": value["messages"], "statuses": value["statuses"]}}]}]})
}

async fn webhook(args: &Args) -> Result<(), String> {
    let pnid = args
        .get("phone-number-id")
        .cloned()
        .unwrap_or_else(|| stack::DEMO_PHONE_NUMBER_ID.into());
    let from = args.get("from").cloned();
    let user_id = args.get("user-id").cloned();
    if from.is_none() && user_id.is_none() {
        return Err("--from PHONE (or --user-id ID) is required".into());
    }
    let at = when(args)?;
    let id = format!("wamid.DEV{}", Utc::now().timestamp_nanos_opt().unwrap_or(0));
    let mut contact = json!({});
    if let Some(f) = &from {
        contact["wa_id"] = json!(f);
    }
    if let Some(u) = &user_id {
        contact["user_id"] = json!(u);
    }
    if !args.contains_key("no-name") {
        contact["profile"] =
            json!({"name": args.get("name").cloned().unwrap_or_else(|| "Dev Customer".into())});
    }
    let mut m = json!({"id": id, "timestamp": at.timestamp().to_string()});
    if let Some(f) = &from {
        m["from"] = json!(f);
    }
    if let Some(u) = &user_id {
        m["from_user_id"] = json!(u);
    }
    match args.get("button").map(String::as_str) {
        Some(answer @ ("yes" | "no")) => {
            let context = args
                .get("context")
                .ok_or("--button needs --context WAMID (the prompt's id, see `sandbox`)")?;
            let (bid, title) = if answer == "yes" {
                (afterhours_rules::prompt::YES_ID, "Yes")
            } else {
                (afterhours_rules::prompt::NO_ID, "No")
            };
            m["type"] = json!("interactive");
            m["context"] = json!({"from": pnid, "id": context});
            m["interactive"] =
                json!({"type": "button_reply", "button_reply": {"id": bid, "title": title}});
        }
        Some(other) => return Err(format!("--button {other}: use yes or no")),
        None => {
            m["type"] = json!("text");
            m["text"] =
                json!({"body": args.get("text").cloned().unwrap_or_else(|| "Hello?".into())});
        }
    }
    let body = envelope(&pnid, json!({"contacts": [contact], "messages": [m]}));
    signed_post(&body).await
}

async fn status(args: &Args) -> Result<(), String> {
    let pnid = args
        .get("phone-number-id")
        .cloned()
        .unwrap_or_else(|| stack::DEMO_PHONE_NUMBER_ID.into());
    let wamid = args.get("wamid").ok_or("--wamid is required")?;
    let st = args.get("status").ok_or("--status is required")?;
    let mut s = json!({"id": wamid, "status": st, "timestamp": Utc::now().timestamp().to_string(), "recipient_id": args.get("to").cloned().unwrap_or_default()});
    if st == "failed" {
        s["errors"] = json!([{"code": 131026, "title": "Message undeliverable"}]);
    }
    signed_post(&envelope(&pnid, json!({"statuses": [s]}))).await
}

async fn signed_post(body: &Value) -> Result<(), String> {
    let raw = body.to_string();
    let secret = or_default("APP_SECRET", "local-app-secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(raw.as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    post_json(
        &format!("{}/webhook", api_url()),
        &[("x-hub-signature-256", &sig)],
        &raw,
    )
    .await
}

async fn post_json(url: &str, headers: &[(&str, &str)], body: &str) -> Result<(), String> {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("{url}: {e} (is `make run` running?)"))?;
    println!(
        "{} {}",
        res.status().as_u16(),
        res.text().await.unwrap_or_default()
    );
    Ok(())
}

async fn get(url: &str) -> Result<(), String> {
    let res = reqwest::get(url)
        .await
        .map_err(|e| format!("{url}: {e} (is `make run` running?)"))?;
    println!("{}", res.text().await.unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn last_night_is_the_most_recent_23_10_in_sao_paulo() {
        let sp = chrono_tz::America::Sao_Paulo;
        let at = |d: u32, h: u32, m: u32| {
            sp.with_ymd_and_hms(2026, 11, d, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(last_night(at(22, 12, 0)), at(21, 23, 10));
        assert_eq!(last_night(at(22, 23, 30)), at(22, 23, 10));
        assert_eq!(last_night(at(22, 23, 10)), at(22, 23, 10));
    }
}
