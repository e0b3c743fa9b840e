//! The benchmark's cost and burst tables: DynamoDB capacity per
//! operation with the price of a million, and the time to 200 of webhook
//! bursts with WhatsApp answering in 300 ms. Against DynamoDB Local, moto and
//! the sandbox, through the same handlers the Lambdas run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use afterhours_adapters::config::{aws_clients, Config};
use afterhours_adapters::cursor::CursorSigner;
use afterhours_adapters::events::Publisher;
use afterhours_adapters::graph::GraphClient;
use afterhours_adapters::http::ApiRequest;
use afterhours_adapters::http::Method;
use afterhours_adapters::lambda::fixed_clock;
use afterhours_adapters::model::Channel;
use afterhours_adapters::store::Store;
use chrono::{DateTime, TimeZone, Utc};
use futures::future::join_all;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::capacity::{CapacityMeter, Units};
use crate::costs::CostRow;
use crate::sandbox::Sandbox;

const SECRET: &str = "bench-app-secret";

/// Friday 2026-11-20 23:10 in São Paulo: closed.
fn night() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 2, 10, 0)
        .single()
        .unwrap_or_default()
}

/// One tenant on a fresh table, the sandbox, and a meter on every DynamoDB call.
struct Bench {
    store: Store,
    meter: CapacityMeter,
    sandbox: Arc<Sandbox>,
    graph: GraphClient,
    cfg: Config,
    tenant: String,
    pnid: String,
}

impl Bench {
    /// The webhook handler's dependencies, at night (the team closed).
    fn webhook(&self) -> webhook::Deps {
        webhook::Deps::new(
            self.store.clone(),
            self.graph.clone(),
            SECRET,
            "v",
            fixed_clock(night()),
        )
    }
}

async fn bench_setup() -> anyhow::Result<Bench> {
    let mut cfg = Config::from_env()?;
    cfg.table = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let (dynamo, _) = aws_clients(&cfg).await?;
    // Its night is a fixed day the calendar has passed: expired items kept.
    use afterhours_adapters::table::{ensure_table_with, Expired};
    ensure_table_with(&dynamo, &cfg.table, Expired::Kept).await?;
    let meter = CapacityMeter::default();
    let store = Store::new(meter.client(&dynamo), cfg.table.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let sandbox = Arc::new(Sandbox::new("bench-token"));
    crate::stack::spawn_sandbox(listener, sandbox.clone());
    let graph = GraphClient::new(&base, "v23.0", "bench-token", Duration::from_secs(8))?;
    let (tenant, pnid) = ("bench-tenant".to_string(), "190000000000001".to_string());
    store
        .grant_account(&tenant, "290000000000001")
        .await
        .map_err(anyhow::Error::from)?;
    store
        .put_channel(&Channel {
            phone_number_id: pnid.clone(),
            tenant_id: tenant.clone(),
            waba_id: "290000000000001".into(),
            display_phone_number: "+1 555".into(),
            default_agent_id: "a-1".into(),
        })
        .await
        .map_err(anyhow::Error::from)?;
    let mut settings = serde_json::to_value(afterhours_rules::settings::Settings::default())?;
    settings["activeMessageLimit"] = json!({"enabled": true, "maxPerContactPer24h": 2});
    store
        .put_settings(&tenant, &settings)
        .await
        .map_err(anyhow::Error::from)?;
    store
        .put_templates(&tenant, &crate::stack::demo_templates())
        .await
        .map_err(anyhow::Error::from)?;
    // A tenant that has been running for a month, not one set up just now.
    set_up_at(&store, &tenant, &pnid, night() - chrono::Duration::days(30)).await?;
    meter.take();
    Ok(Bench {
        store,
        meter,
        sandbox,
        graph,
        cfg,
        tenant,
        pnid,
    })
}

/// Dates a tenant's number binding and settings back to `at`, as if it was
/// set up then (a benchmark's or a test's tenant is set up a moment before
/// its night): messages written well after it are routed for good, so the
/// webhook records them by one write of their record.
pub async fn set_up_at(
    store: &Store,
    tenant: &str,
    pnid: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::AttributeValue;
    for (pk, sk, name) in [
        (format!("CH#{pnid}"), "CHANNEL", "changedAt"),
        (format!("T#{tenant}"), "SETTINGS", "savedAt"),
    ] {
        store
            .client()
            .update_item()
            .table_name(store.table())
            .key("PK", AttributeValue::S(pk))
            .key("SK", AttributeValue::S(sk.into()))
            .update_expression("SET #n = :at")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#n", name)
            .expression_attribute_values(":at", AttributeValue::N(at.timestamp().to_string()))
            .send()
            .await?;
    }
    Ok(())
}

/// The customer's agent written just now by hand, as a send does: until it
/// is well before a message, the webhook claims the message's `wamid`.
async fn customer_agent_just_written(b: &Bench, phone: &str) -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let now = Utc::now().timestamp();
    let n = |v: i64| AttributeValue::N(v.to_string());
    b.store
        .client()
        .put_item()
        .table_name(b.store.table())
        .item("PK", AttributeValue::S(format!("T#{}", b.tenant)))
        .item("SK", AttributeValue::S(format!("CUST#{phone}")))
        .item("agentId", AttributeValue::S("a-1".into()))
        .item("updatedAt", n(now))
        .item("since", n(now))
        .item("agentUntil", n(now + 30 * 86_400))
        .item("expiresAt", n(now + 38 * 86_400))
        .send()
        .await?;
    Ok(())
}

/// A signed webhook POST of new messages, one per `(wamid, phone)`.
fn webhook_post(pnid: &str, msgs: &[(String, String)]) -> ApiRequest {
    let contacts: Vec<Value> = msgs.iter().map(|(_, p)| json!({"wa_id": p})).collect();
    let messages: Vec<Value> = msgs
        .iter()
        .map(|(w, p)| json!({"from": p, "id": w, "timestamp": night().timestamp().to_string(), "type": "text", "text": {"body": "oi"}}))
        .collect();
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": pnid},
                  "contacts": contacts, "messages": messages}}]}]})
    .to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    ApiRequest {
        method: Method::POST,
        path: "/webhook".into(),
        headers: HashMap::from([("x-hub-signature-256".into(), sig)]),
        body: body.into_bytes(),
        route_key: "POST /webhook".into(),
        ..ApiRequest::default()
    }
}

fn desk(method: &str, path: &str, tenant: &str, id: Option<&str>) -> ApiRequest {
    let claims = HashMap::from([
        ("sub".to_string(), "a-1".to_string()),
        ("custom:tenant_id".to_string(), tenant.to_string()),
        ("cognito:groups".to_string(), "[agent]".to_string()),
    ]);
    let mut r = ApiRequest {
        method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
        path: path.into(),
        claims,
        ..ApiRequest::default()
    };
    if let Some(id) = id {
        r.path_params.insert("id".into(), id.into());
    }
    r
}

/// How many times each operation of the cost table is measured.
const SAMPLES: usize = 15;

/// Each run of one operation: the units the meter saw and its wall time.
#[derive(Default)]
struct Samples {
    units: Vec<Units>,
    times: Vec<Duration>,
}

impl Samples {
    /// Runs `op(i)` `n` times, each measured on its own; with what each returned.
    async fn of<F, Fut, T>(meter: &CapacityMeter, n: usize, mut op: F) -> (Samples, Vec<T>)
    where
        F: FnMut(usize) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let mut s = Samples::default();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            meter.take();
            let started = Instant::now();
            out.push(op(i).await);
            s.times.push(started.elapsed());
            s.units.push(meter.take());
        }
        (s, out)
    }

    /// Averaged units and the median time, as a row of the cost table.
    fn row(self, operation: &str, memory_mb: u32, via_api: bool) -> CostRow {
        let n = self.units.len().max(1) as f64;
        let sum = |f: fn(&Units) -> f64| self.units.iter().map(f).sum::<f64>() / n;
        CostRow {
            operation: operation.to_string(),
            requests: sum(|u| u.requests as f64),
            read_units: sum(|u| u.read),
            write_units: sum(|u| u.write),
            duration: percentiles(self.times).0,
            memory_mb,
            via_api,
        }
    }
}

/// The simplest ingest a team could write, for comparison (never in the
/// product): check the signature, parse, one `UpdateItem` per message (count,
/// last time), no deduplication, no prompt, no agent.
async fn minimal_ingest(store: &Store, req: &ApiRequest) {
    if !webhook::signature_ok(
        SECRET.as_bytes(),
        &req.body,
        req.header("x-hub-signature-256"),
    ) {
        return;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&req.body) else {
        return;
    };
    let messages = v["entry"][0]["changes"][0]["value"]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for m in messages {
        let s = |x: &str| aws_sdk_dynamodb::types::AttributeValue::S(x.to_string());
        let n = |x: &str| aws_sdk_dynamodb::types::AttributeValue::N(x.to_string());
        let _ = store
            .client()
            .update_item()
            .table_name(store.table())
            .key(
                "PK",
                s(&format!("MIN#{}", m["from"].as_str().unwrap_or(""))),
            )
            .key("SK", s("NIGHT"))
            .update_expression("SET lastAt = :t ADD msgCount :one")
            .expression_attribute_values(":t", n(m["timestamp"].as_str().unwrap_or("0")))
            .expression_attribute_values(":one", n("1"))
            .send()
            .await;
    }
}

/// What each operation costs whole (API Gateway, Lambda, DynamoDB), ours and,
/// for ingest, the minimal design's, measured in the same run.
pub async fn cost_table() -> anyhow::Result<Vec<CostRow>> {
    use crate::costs::{API_FUNCTION_MEMORY_MB as MB, REPORT_MEMORY_MB};
    let b = bench_setup().await?;
    let hook = b.webhook();
    let mut rows = ingest_costs(&b, &hook).await?;
    let seed: Vec<(String, String)> = (0..48)
        .map(|i| (format!("wamid.s{i}"), format!("55119100{i:05}")))
        .collect();
    webhook::handle(&hook, webhook_post(&b.pnid, &seed)).await;
    let contacts = contacts::Deps {
        store: b.store.clone(),
        cursors: CursorSigner::new(b"bench")?,
        clock: fixed_clock(night()),
        rules: Default::default(),
        names: contacts::name_cache(),
    };
    let page = contacts::handle(&contacts, desk("GET", "/contacts", &b.tenant, None)).await;
    let (list, _) = Samples::of(&b.meter, SAMPLES, |_| {
        contacts::handle(&contacts, desk("GET", "/contacts", &b.tenant, None))
    })
    .await;
    let ids: Vec<String> = page.json_body()["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let (_, eb) = aws_clients(&b.cfg).await?;
    let sends = send_costs(&b, &ids, eb.clone()).await?;
    let report = report_cost(&b, eb).await?;
    rows.extend([
        list.row("list page (50 records)", MB, true),
        sends.row("send (with Idempotency-Key)", MB, true),
        report.row(
            "report, 1,000 pending of one tenant",
            REPORT_MEMORY_MB,
            false,
        ),
    ]);
    Ok(rows)
}

/// Ingest, ours and the minimal design's side by side: a message that opens
/// a night, and one of a night already recorded.
async fn ingest_costs(b: &Bench, hook: &webhook::Deps) -> anyhow::Result<Vec<CostRow>> {
    use crate::costs::API_FUNCTION_MEMORY_MB as MB;
    let one = |w: String, p: String| webhook_post(&b.pnid, &[(w, p)]);
    // Warm the per-instance caches, as a Lambda that already served one message.
    webhook::handle(hook, one("wamid.warm".into(), "5511900000000".into())).await;
    let (new, _) = Samples::of(&b.meter, SAMPLES, |i| {
        webhook::handle(
            hook,
            one(format!("wamid.new{i}"), format!("55119001{i:05}")),
        )
    })
    .await;
    let (known, _) = Samples::of(&b.meter, SAMPLES, |i| {
        webhook::handle(hook, one(format!("wamid.again{i}"), "5511900100000".into()))
    })
    .await;
    // The same, for a customer whose agent was written just now: the claim.
    let changed = "5511900100001";
    webhook::handle(hook, one("wamid.changed".into(), changed.into())).await;
    customer_agent_just_written(b, changed).await?;
    let (claimed, _) = Samples::of(&b.meter, SAMPLES, |i| {
        webhook::handle(hook, one(format!("wamid.changed{i}"), changed.into()))
    })
    .await;
    let (minimal_new, _) = Samples::of(&b.meter, SAMPLES, |i| {
        let req = one(format!("wamid.min{i}"), format!("55119002{i:05}"));
        let store = &b.store;
        async move { minimal_ingest(store, &req).await }
    })
    .await;
    let (minimal_known, _) = Samples::of(&b.meter, SAMPLES, |i| {
        let req = one(format!("wamid.minagain{i}"), "5511900200000".into());
        let store = &b.store;
        async move { minimal_ingest(store, &req).await }
    })
    .await;
    Ok(vec![
        new.row("ingest, new record (+ prompt)", MB, true),
        minimal_new.row("  minimal design: ingest, new night", MB, true),
        known.row("ingest, known night", MB, true),
        minimal_known.row("  minimal design: ingest, known night", MB, true),
        claimed.row("ingest, known night, agent just changed", MB, true),
    ])
}

/// Sends with an `Idempotency-Key`, one to each record of `ids` (under the cap).
async fn send_costs(
    b: &Bench,
    ids: &[String],
    eb: aws_sdk_eventbridge::Client,
) -> anyhow::Result<Samples> {
    let send = send::Deps {
        rules: Default::default(),
        store: b.store.clone(),
        graph: b.graph.clone(),
        events: Publisher::new(eb, b.cfg.event_bus.clone()),
        clock: fixed_clock(night() + chrono::Duration::hours(9)),
    };
    let (samples, answers) = Samples::of(&b.meter, SAMPLES.min(ids.len()), |i| {
        let id = &ids[i];
        let mut req = desk(
            "POST",
            &format!("/contacts/{id}/active-messages"),
            &b.tenant,
            Some(id),
        );
        req.headers
            .insert("idempotency-key".into(), format!("bench-{i}"));
        req.body = br#"{"template": {"name": "callback_after_hours", "language": "pt_BR"}, "variables": {"1": "Maria", "2": "Ana"}}"#.to_vec();
        send::handle(&send, req)
    })
    .await;
    match answers.into_iter().find(|r| r.status != 200) {
        Some(r) => Err(anyhow::anyhow!(
            "the benchmark's send answered {}: {}",
            r.status,
            r.body
        )),
        None => Ok(samples),
    }
}

/// The report of one tenant with 1,000 pending callbacks.
async fn report_cost(b: &Bench, eb: aws_sdk_eventbridge::Client) -> anyhow::Result<Samples> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    // Sorts after the bench's other tenant, so the run below reads only this one.
    let tenant = "bench-zreport";
    b.store.put_settings(tenant, &json!({})).await?;
    stream::iter(0..1000)
        .map(|i| async move {
            let key = pending_key(
                tenant,
                &format!("a-{}", i % 10),
                &format!("55119200{i:05}"),
                night(),
            );
            seed_pending(&b.store, &key, &format!("r{i}"), night()).await
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    // Only this tenant's partition: what one tenant of the run costs.
    let deps = report::Deps::new(
        b.store.clone(),
        Publisher::new(eb, b.cfg.event_bus.clone()),
        fixed_clock(night()),
    );
    let input = report::RunInput {
        after: Some(b.tenant.clone()),
        started_at: None,
    };
    let unlimited = report::Budget::unlimited();
    let (samples, runs) =
        Samples::of(&b.meter, 1, |_| report::run(&deps, &input, &unlimited)).await;
    match runs.first().map(|s| s.records) {
        Some(1000) => Ok(samples),
        other => Err(anyhow::anyhow!(
            "the benchmark's report read {other:?} records"
        )),
    }
}

/// The record key of a seeded callback.
pub fn pending_key(
    tenant: &str,
    agent: &str,
    customer: &str,
    at: DateTime<Utc>,
) -> afterhours_adapters::model::RecordKey {
    afterhours_adapters::model::RecordKey {
        tenant: tenant.into(),
        agent: agent.into(),
        customer: customer.into(),
        period: at.timestamp(),
    }
}

/// One pending callback (a night's message, the prompt, a Yes) for the
/// benchmarks; `tag` keeps its wamids apart. The caller registers the tenant
/// (saves its settings once) so that the report finds it.
pub async fn seed_pending(
    store: &Store,
    key: &afterhours_adapters::model::RecordKey,
    tag: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let m = afterhours_adapters::model::Inbound {
        key: key.clone(),
        channel: "bench".into(),
        wamid: format!("wamid.bench{tag}"),
        at,
        wa_id: Some(key.customer.clone()),
        user_id: None,
        name: Some("Bench".into()),
        settled: false,
    };
    store
        .record_inbound(&m)
        .await
        .map_err(anyhow::Error::from)?;
    let prompt = format!("wamid.benchprompt{tag}");
    store
        .mark_prompt_sent(key, &prompt, at)
        .await
        .map_err(anyhow::Error::from)?;
    store
        .answer_callback(&afterhours_adapters::model::Tap {
            tenant: &key.tenant,
            customer: &key.customer,
            prompt_wamid: &prompt,
            yes: true,
            at,
        })
        .await
        .map_err(anyhow::Error::from)?;
    Ok(())
}

/// p50 and p99 of some durations.
fn percentiles(mut d: Vec<Duration>) -> (Duration, Duration) {
    d.sort();
    let at = |q: f64| d[((d.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

/// Time to 200 of webhook bursts, WhatsApp answering in `latency`: a POST of
/// 100 new customers (`runs` times), and 50 concurrent POSTs of one each.
pub async fn bursts(
    latency: Duration,
    runs: usize,
) -> anyhow::Result<Vec<(String, Duration, Duration)>> {
    let b = bench_setup().await?;
    b.sandbox.set_latency(latency);
    let hook = b.webhook();
    let mut big = Vec::new();
    for r in 0..runs {
        let msgs = (0..100)
            .map(|i| (format!("wamid.b{r}-{i}"), format!("551193{r:02}{i:04}")))
            .collect::<Vec<_>>();
        let start = Instant::now();
        let res = webhook::handle(&hook, webhook_post(&b.pnid, &msgs)).await;
        if res.status != 200 {
            return Err(anyhow::anyhow!("a burst answered {}", res.status));
        }
        big.push(start.elapsed());
    }
    let concurrent = join_all((0..50).map(|i| {
        let req = webhook_post(
            &b.pnid,
            &[(format!("wamid.c{i}"), format!("55119400{i:04}"))],
        );
        let hook = &hook;
        async move {
            let start = Instant::now();
            let res = webhook::handle(hook, req).await;
            (res.status.as_u16(), start.elapsed())
        }
    }))
    .await;
    if let Some((st, _)) = concurrent.iter().find(|(st, _)| *st != 200) {
        return Err(anyhow::anyhow!("a concurrent POST answered {st}"));
    }
    let (p50, p99) = percentiles(big);
    let (c50, c99) = percentiles(concurrent.into_iter().map(|(_, d)| d).collect());
    Ok(vec![
        (format!("1 POST of 100 new customers (x{runs})"), p50, p99),
        (
            "50 concurrent POSTs of 1 new customer".to_string(),
            c50,
            c99,
        ),
    ])
}
