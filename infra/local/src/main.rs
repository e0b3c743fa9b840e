//! `afterhours-local`: the local stack and the dev CLI. `afterhours-local help`
//! (or `--help` after any command) lists the commands and their flags.

use anyhow::Context;
use std::sync::Arc;

use afterhours_adapters::config::{or_default, required};
use afterhours_local::{jwt, sandbox::Sandbox, stack};
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The local stack of afterhours and the commands to drive it.
#[derive(Debug, Parser)]
#[command(name = "afterhours-local", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Table, bus, demo tenant, WhatsApp sandbox and API gateway (what `make run` starts).
    Run,
    /// Only create the table and bus and seed the demo tenant.
    Setup,
    /// Cold starts of the function binaries in DIR under a Runtime API emulator.
    Bench {
        /// The folder with the release binaries.
        #[arg(long)]
        dir: String,
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// DynamoDB capacity and cost per operation, and webhook bursts with WhatsApp at 300 ms.
    LoadBench {
        /// How many 100-message POSTs to time.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Seed N small tenants (one pending callback each) and time the report over them.
    ReportBench {
        #[arg(long, default_value_t = 3000)]
        tenants: usize,
    },
    /// Mint a local token signed with LOCAL_JWT_SECRET.
    Token {
        #[arg(long, default_value = stack::DEMO_TENANT)]
        tenant: String,
        #[arg(long, default_value = stack::DEMO_AGENT)]
        agent: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Agent)]
        role: RoleArg,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 43_200)]
        ttl: i64,
    },
    /// Post a signed webhook as a customer writing to the demo channel.
    Webhook(WebhookArgs),
    /// Post a signed delivery status for a message this system sent.
    Status {
        #[arg(long)]
        wamid: String,
        #[arg(long, value_enum)]
        status: StatusArg,
        #[arg(long, default_value = stack::DEMO_PHONE_NUMBER_ID)]
        phone_number_id: String,
        /// The recipient's number.
        #[arg(long, default_value = "")]
        to: String,
    },
    /// Run the unanswered-callbacks report now.
    Report,
    /// What the WhatsApp sandbox received.
    Sandbox,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Agent,
    Supervisor,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatusArg {
    Sent,
    Delivered,
    Read,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Answer {
    Yes,
    No,
}

#[derive(Debug, Args)]
struct WebhookArgs {
    /// The customer's phone number (wa_id).
    #[arg(long, required_unless_present = "user_id")]
    from: Option<String>,
    /// The customer's business-scoped user id (when the phone is withheld).
    #[arg(long)]
    user_id: Option<String>,
    #[arg(long, default_value = stack::DEMO_PHONE_NUMBER_ID)]
    phone_number_id: String,
    #[arg(long, default_value = "Dev Customer", conflicts_with = "no_name")]
    name: String,
    /// Send no profile name.
    #[arg(long)]
    no_name: bool,
    #[arg(long, default_value = "Hello?")]
    text: String,
    /// Tap a button of the prompt instead of writing text.
    #[arg(long, value_enum, requires = "context")]
    button: Option<Answer>,
    /// The prompt's wamid (see `sandbox`).
    #[arg(long)]
    context: Option<String>,
    /// When the customer wrote (RFC 3339).
    #[arg(long, group = "when")]
    at: Option<DateTime<chrono::FixedOffset>>,
    #[arg(long, group = "when")]
    minutes_ago: Option<i64>,
    /// At the most recent 23:10 in São Paulo (always outside the demo's hours).
    #[arg(long, group = "when")]
    last_night: bool,
}

fn api_url() -> String {
    format!("http://127.0.0.1:{}", or_default("LOCAL_API_PORT", "3000"))
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run => run().await,
        Command::Setup => setup().await,
        Command::Bench { dir, runs } => bench(&dir, runs).await,
        Command::ReportBench { tenants } => report_bench(tenants).await,
        Command::LoadBench { runs } => load_bench(runs).await,
        Command::Token {
            tenant,
            agent,
            role,
            ttl,
        } => token(&tenant, &agent, role, ttl),
        Command::Webhook(args) => webhook(&args).await,
        Command::Status {
            wamid,
            status: st,
            phone_number_id,
            to,
        } => status(&wamid, st, &phone_number_id, &to).await,
        Command::Report => post_json(&format!("{}/_local/report", api_url()), &[], "").await,
        Command::Sandbox => sandbox_messages().await,
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    afterhours_adapters::logging::init();
    let store = stack::bootstrap().await?;
    stack::seed_demo(&store).await?;
    let sandbox_port = or_default("SANDBOX_PORT", "4020");
    let sandbox = Arc::new(Sandbox::new(&required("WHATSAPP_TOKEN")?));
    sandbox.set_phone_numbers(stack::DEMO_WABA_ID, &[stack::DEMO_PHONE_NUMBER_ID]);
    let demo = stack::demo_templates()["data"].as_array().cloned();
    sandbox.set_templates(stack::DEMO_WABA_ID, demo.unwrap_or_default());
    if let Some(ms) = std::env::var("SANDBOX_LATENCY_MS")
        .ok()
        .and_then(|m| m.parse().ok())
    {
        sandbox.set_latency(std::time::Duration::from_millis(ms));
    }
    match tokio::net::TcpListener::bind(format!("127.0.0.1:{sandbox_port}")).await {
        Ok(l) => drop(stack::spawn_sandbox(l, sandbox)),
        Err(e) => eprintln!("warning: WhatsApp sandbox not started on {sandbox_port}: {e}"),
    }
    let gateway = Arc::new(stack::gateway_from_env().await?);
    let port = or_default("LOCAL_API_PORT", "3000");
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .with_context(|| format!("port {port}"))?;
    print_banner(&port, &sandbox_port)?;
    let server = stack::spawn_gateway(listener, gateway);
    tokio::select! {
        _ = server => Err(anyhow::anyhow!("the gateway stopped")),
        _ = tokio::signal::ctrl_c() => { println!("stopping"); Ok(()) }
    }
}

/// What is running where, tokens per role, and what to try next.
fn print_banner(port: &str, sandbox_port: &str) -> anyhow::Result<()> {
    let auth = jwt::Authorizer::from_env()?;
    let now = Utc::now().timestamp();
    let tok =
        |agent: &str, role: &str| auth.token_for(stack::DEMO_TENANT, agent, role, now, 12 * 3600);
    println!(
        r#"
afterhours is running on loopback:
  Desk page          http://127.0.0.1:{port}/     (open it in a browser; sign in by picking a role)
  API gateway        http://127.0.0.1:{port}      (routes of template.yaml, JWT HS256 with LOCAL_JWT_SECRET, iss {iss}, aud {aud})
  WhatsApp sandbox   http://127.0.0.1:{sandbox_port}      (GET /_sandbox/messages shows what was sent)
  WhatsApp API used  {graph}
  DynamoDB Local     {ddb}   table {table}
  EventBridge (moto) {eb}   bus {bus}   (moto also serves the local Cognito user pool)

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
Onboard a business as the platform operator would (moto's Cognito, this table):
  bash infra/scripts/admin.sh tenant create acme --admin-email ana@acme.example
  bash infra/scripts/admin.sh account grant acme 123456789012345
Ctrl-C stops everything `make run` started.
"#,
        iss = auth.issuer,
        aud = auth.audience,
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
    Ok(())
}

async fn setup() -> anyhow::Result<()> {
    let store = stack::bootstrap().await?;
    stack::seed_demo(&store).await?;
    println!("table {} and the demo tenant are ready", store.table());
    Ok(())
}

async fn load_bench(runs: usize) -> anyhow::Result<()> {
    use afterhours_local::{costs, loadbench};
    let rows = loadbench::cost_table().await?;
    println!(
        "\nCost per operation, whole: API Gateway HTTP API + Lambda arm64 (median duration, configured memory) + DynamoDB on demand ({})",
        costs::PRICES_AS_OF
    );
    print!("{}", costs::table(&rows));
    let bursts = loadbench::bursts(std::time::Duration::from_millis(300), runs).await?;
    println!("\nWebhook bursts, WhatsApp answering in 300 ms (time to 200)");
    println!("{:<42} {:>10} {:>10}", "burst", "p50", "p99");
    for (name, p50, p99) in bursts {
        println!(
            "{name:<42} {:>8.0}ms {:>8.0}ms",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

async fn report_bench(tenants: usize) -> anyhow::Result<()> {
    let store = stack::bootstrap().await?;
    let deps = report::Deps::from_env().await?;
    let t = afterhours_local::bench::report_throughput(&store, &deps, tenants).await?;
    println!(
        "report: {} tenants in {:.1} s over {} invocation(s): {:.0} tenants/s; 100,000 tenants ≈ {:.0} s",
        t.tenants,
        t.elapsed.as_secs_f64(),
        t.invocations,
        t.tenants_per_second(),
        100_000.0 / t.tenants_per_second()
    );
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

async fn bench(dir: &str, runs: usize) -> anyhow::Result<()> {
    println!(
        "{:<9} {:>10} {:>10} {:>10} {:>12} {:>11}  first response",
        "function", "init p50", "init max", "cold p50", "peak RSS", "size"
    );
    for f in ["webhook", "contacts", "send", "settings", "report"] {
        let bin = format!("{dir}/{f}");
        let size = std::fs::metadata(&bin)
            .map(|m| m.len())
            .with_context(|| bin.to_string())?;
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
            "{f:<9} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>9.1} MB {:>7.2} MiB  {status}",
            init[init.len() / 2],
            init[init.len() - 1],
            cold[cold.len() / 2],
            rss as f64 / 1024.0,
            size as f64 / 1_048_576.0
        );
    }
    Ok(())
}

fn token(tenant: &str, agent: &str, role: RoleArg, ttl: i64) -> anyhow::Result<()> {
    let auth =
        jwt::Authorizer::with_secret_from_env(&or_default("LOCAL_JWT_SECRET", "local-jwt-secret"));
    let role = match role {
        RoleArg::Agent => "agent",
        RoleArg::Supervisor => "supervisor",
        RoleArg::Admin => "admin",
    };
    println!(
        "{}",
        auth.token_for(tenant, agent, role, Utc::now().timestamp(), ttl)
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

fn when(args: &WebhookArgs) -> DateTime<Utc> {
    match (args.last_night, args.at, args.minutes_ago) {
        (true, _, _) => last_night(Utc::now()),
        (_, Some(at), _) => at.with_timezone(&Utc),
        (_, _, ago) => Utc::now() - Duration::minutes(ago.unwrap_or(0)),
    }
}

fn envelope(pnid: &str, value: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": pnid, "phone_number_id": pnid}, "contacts": value["contacts"], "messages": value["messages"], "statuses": value["statuses"]}}]}]})
}

/// The customer as Meta names them in `contacts[]`.
fn contact_of(args: &WebhookArgs) -> Value {
    let mut contact = json!({});
    if let Some(f) = &args.from {
        contact["wa_id"] = json!(f);
    }
    if let Some(u) = &args.user_id {
        contact["user_id"] = json!(u);
    }
    if !args.no_name {
        contact["profile"] = json!({ "name": args.name });
    }
    contact
}

/// One message from the customer: text, or a tap on the prompt's buttons.
fn message_of(args: &WebhookArgs) -> Value {
    let id = format!("wamid.DEV{}", Utc::now().timestamp_nanos_opt().unwrap_or(0));
    let mut m = json!({"id": id, "timestamp": when(args).timestamp().to_string()});
    if let Some(f) = &args.from {
        m["from"] = json!(f);
    }
    if let Some(u) = &args.user_id {
        m["from_user_id"] = json!(u);
    }
    match (args.button, &args.context) {
        (Some(answer), Some(context)) => {
            let (bid, title) = match answer {
                Answer::Yes => (afterhours_rules::prompt::YES_ID, "Yes"),
                Answer::No => (afterhours_rules::prompt::NO_ID, "No"),
            };
            m["type"] = json!("interactive");
            m["context"] = json!({"from": args.phone_number_id, "id": context});
            m["interactive"] =
                json!({"type": "button_reply", "button_reply": {"id": bid, "title": title}});
        }
        _ => {
            m["type"] = json!("text");
            m["text"] = json!({ "body": args.text });
        }
    }
    m
}

async fn webhook(args: &WebhookArgs) -> anyhow::Result<()> {
    let body = envelope(
        &args.phone_number_id,
        json!({"contacts": [contact_of(args)], "messages": [message_of(args)]}),
    );
    signed_post(&body).await
}

async fn status(wamid: &str, st: StatusArg, pnid: &str, to: &str) -> anyhow::Result<()> {
    let name = match st {
        StatusArg::Sent => "sent",
        StatusArg::Delivered => "delivered",
        StatusArg::Read => "read",
        StatusArg::Failed => "failed",
    };
    let mut s = json!({"id": wamid, "status": name, "timestamp": Utc::now().timestamp().to_string(), "recipient_id": to});
    if st == StatusArg::Failed {
        s["errors"] = json!([{"code": 131026, "title": "Message undeliverable"}]);
    }
    signed_post(&envelope(pnid, json!({"statuses": [s]}))).await
}

async fn signed_post(body: &Value) -> anyhow::Result<()> {
    let raw = body.to_string();
    let secret = or_default("APP_SECRET", "local-app-secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
    mac.update(raw.as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    post_json(
        &format!("{}/webhook", api_url()),
        &[("x-hub-signature-256", &sig)],
        &raw,
    )
    .await
}

async fn post_json(url: &str, headers: &[(&str, &str)], body: &str) -> anyhow::Result<()> {
    let mut req = afterhours_adapters::tls::reqwest_client()
        .map_err(anyhow::Error::msg)?
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req
        .send()
        .await
        .with_context(|| format!("{url} (is `make run` running?)"))?;
    println!(
        "{} {}",
        res.status().as_u16(),
        res.text().await.unwrap_or_default()
    );
    Ok(())
}

/// What the sandbox received, one line per message, with the customers' numbers masked.
async fn sandbox_messages() -> anyhow::Result<()> {
    let url = format!(
        "{}/_sandbox/messages",
        or_default("WHATSAPP_API_BASE_URL", "http://127.0.0.1:4020")
    );
    // The project's one HTTP client (its TLS provider set up), not reqwest's default.
    let res = afterhours_adapters::tls::reqwest_client()
        .map_err(anyhow::Error::msg)?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} (is `make run` running?)"))?;
    let text = res.text().await.with_context(|| url.to_string())?;
    let v: Value = serde_json::from_str(&text).with_context(|| url.to_string())?;
    for m in v["data"].as_array().into_iter().flatten() {
        let mut m = m.clone();
        if let Some(to) = m["body"]["to"].as_str() {
            m["body"]["to"] = json!(afterhours_rules::display::mask(to));
        }
        println!("{m}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_mistyped_flag_is_refused_instead_of_ignored() {
        assert!(Cli::try_parse_from(["afterhours-local", "webhook", "--form", "5511"]).is_err());
        assert!(Cli::try_parse_from(["afterhours-local", "webhook"]).is_err());
        assert!(Cli::try_parse_from(["afterhours-local", "token", "--role", "root"]).is_err());
        assert!(Cli::try_parse_from([
            "afterhours-local",
            "webhook",
            "--from",
            "5511",
            "--button",
            "yes"
        ])
        .is_err());
        let ok = Cli::try_parse_from([
            "afterhours-local",
            "webhook",
            "--from",
            "5511",
            "--last-night",
        ])
        .unwrap();
        assert!(matches!(
            ok.command,
            Command::Webhook(WebhookArgs {
                last_night: true,
                ..
            })
        ));
    }

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
