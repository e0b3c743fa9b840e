//! A Lambda Runtime API emulator for measuring cold starts: it
//! starts a function binary the way Lambda does, times process start to the
//! first `GET /runtime/invocation/next` (init) and to the first response
//! (init + first invocation), and reads the peak RSS from `/proc`.

use anyhow::Context;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use crate::server::{HttpRequest, HttpResponse};

/// One cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStart {
    pub init: Duration,
    pub first_response: Duration,
    pub peak_rss_kb: u64,
    pub response: Value,
}

enum Seen {
    Next,
    Response(Vec<u8>),
}

/// Peak resident set size of a live process, from `/proc/<pid>/status`.
pub fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// The headers the Runtime API sends with an invocation.
fn invocation_headers() -> Vec<(String, String)> {
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    [
        ("content-type", "application/json".to_string()),
        ("lambda-runtime-aws-request-id", "bench-1".into()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:000000000000:function:bench".into(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A Runtime API that hands out `event` once and reports what it sees.
async fn runtime_api(
    event: &Value,
    tx: mpsc::UnboundedSender<Seen>,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = Arc::new(Mutex::new(0u32));
    let event_body = event.to_string();
    let server = tokio::spawn(crate::server::serve(
        listener,
        crate::gateway::MAX_BODY_BYTES,
        move |req: HttpRequest| {
            let (tx, served, event_body) = (tx.clone(), served.clone(), event_body.clone());
            async move {
                if req.method == "GET" && req.path.ends_with("/runtime/invocation/next") {
                    let _ = tx.send(Seen::Next);
                    let first = {
                        let mut n = served.lock().unwrap_or_else(|e| e.into_inner());
                        *n += 1;
                        *n == 1
                    };
                    if !first {
                        // Later polls wait until the process is stopped.
                        std::future::pending::<()>().await;
                    }
                    return HttpResponse {
                        status: 200,
                        headers: invocation_headers(),
                        body: event_body.into_bytes(),
                    };
                }
                if req.method == "POST" {
                    let _ = tx.send(Seen::Response(req.body.clone()));
                }
                HttpResponse {
                    status: 202,
                    headers: vec![],
                    body: b"{}".to_vec(),
                }
            }
        },
    ));
    Ok((addr, server))
}

/// Starts `binary` against a fresh Runtime API on loopback, hands it `event`
/// once, and measures.
pub async fn cold_start(
    binary: &str,
    event: &Value,
    timeout: Duration,
) -> anyhow::Result<ColdStart> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Seen>();
    let (addr, server) = runtime_api(event, tx).await?;
    let start = Instant::now();
    let mut child = std::process::Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| binary.to_string())?;
    let pid = child.id();
    let result = tokio::time::timeout(timeout, async {
        let mut init = None;
        while let Some(seen) = rx.recv().await {
            match seen {
                Seen::Next if init.is_none() => init = Some(start.elapsed()),
                Seen::Next => {}
                Seen::Response(body) => {
                    let first_response = start.elapsed();
                    return Ok(ColdStart {
                        init: init.unwrap_or(first_response),
                        first_response,
                        peak_rss_kb: peak_rss_kb(pid),
                        response: serde_json::from_slice(&body).unwrap_or(Value::Null),
                    });
                }
            }
        }
        Err(anyhow::anyhow!("the runtime API closed"))
    })
    .await
    .map_err(|_| {
        anyhow::anyhow!(
            "{binary} did not answer within {timeout:?} (does its configuration resolve?)"
        )
    })?;
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    result
}

/// What one report run over many small tenants took.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportThroughput {
    pub tenants: usize,
    pub invocations: usize,
    pub elapsed: Duration,
}

impl ReportThroughput {
    pub fn tenants_per_second(&self) -> f64 {
        self.tenants as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Seeds `n` tenants with one pending callback each (tenant ids `bench-…`),
/// then times the report over all of them as the local stack runs it.
pub async fn report_throughput(
    store: &afterhours_adapters::store::Store,
    deps: &report::Deps,
    n: usize,
) -> anyhow::Result<ReportThroughput> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let now = chrono::Utc::now();
    stream::iter(0..n)
        .map(|i| async move {
            let tenant = format!("bench-{i:06}");
            let key = crate::loadbench::pending_key(&tenant, "a-1", &format!("55119{i:08}"), now);
            store.put_settings(&tenant, &serde_json::json!({})).await?;
            crate::loadbench::seed_pending(store, &key, &format!("{i}"), now).await
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    let start = Instant::now();
    let runs = crate::gateway::local_report(deps).await;
    Ok(ReportThroughput {
        tenants: runs.iter().map(|r| r.tenants_scanned).sum(),
        invocations: runs.len(),
        elapsed: start.elapsed(),
    })
}
