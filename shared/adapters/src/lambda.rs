//! The Lambda side of every API function: read the HTTP API event, call the
//! plain handler, write the response. Also the clock handlers read time from.

use std::future::Future;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use tracing::Instrument;

use crate::http::{ApiRequest, ApiResponse};

/// Set after the first invocation of this process, for the `cold_start` log field.
static WARM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Where handlers get "now" from, so tests can pin it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// A clock stopped at one instant.
pub fn fixed_clock(t: DateTime<Utc>) -> Clock {
    Arc::new(move || t)
}

/// The span of one invocation: its request id, whether it is this process's
/// first (a cold start), and for HTTP requests the route key (never the raw
/// path: record ids in it name the customer).
pub fn invocation_span(request_id: &str) -> tracing::Span {
    let cold_start = !WARM.swap(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info_span!(
        "invocation",
        request_id,
        cold_start,
        route = tracing::field::Empty
    )
}

/// Runs an HTTP API handler under the Lambda runtime until the process ends.
pub async fn run_http<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(ApiRequest) -> Fut,
    Fut: Future<Output = ApiResponse>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |ev: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            let mut req = ApiRequest::from_apigw(ev.payload);
            if req.request_id.is_empty() {
                req.request_id = ev.context.request_id.clone();
            }
            let span = invocation_span(&req.request_id);
            span.record("route", req.route_key.as_str());
            let started = std::time::Instant::now();
            let res = handler(req).instrument(span.clone()).await;
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            span.in_scope(|| tracing::info!(status = res.status.as_u16(), latency_ms, "handled"));
            Ok::<ApiGatewayV2httpResponse, Error>(res.to_apigw())
        },
    ))
    .await
}

/// Logs a configuration failure clearly and turns it into the runtime's init error.
pub fn init_failed(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "cannot start");
    format!("cannot start: {e}").into()
}
