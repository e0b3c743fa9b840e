//! The report Lambda, invoked by EventBridge Scheduler (a fresh run) or by
//! its own continuation event (the rest of a run): logging, config and
//! clients once, then one report run per invocation. The invocation fails,
//! naming the tenants, when any tenant's report could not be published, so
//! the schedule's retry policy and dead-letter queue take over.
// The AWS SDK's nested futures go past rustc's default query depth when
// `main` computes its layout (a known compiler limit, not a recursion here).
#![recursion_limit = "256"]

use std::time::{Duration, Instant, SystemTime};

use afterhours_adapters::lambda::{init_failed, invocation_span};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use report::Budget;
use serde_json::Value;
use tracing::Instrument;

/// Time kept back at the end of an invocation: the tenant at hand and the
/// hand-off must finish before Lambda stops the function.
const MARGIN: Duration = Duration::from_secs(30);

/// The budget of an invocation that must end by `deadline` (the context's).
fn budget(deadline: SystemTime) -> Budget {
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Budget::until(Instant::now() + left.saturating_sub(MARGIN))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    afterhours_adapters::logging::init();
    let deps = report::Deps::from_env().await.map_err(init_failed)?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Value>| async move {
        let span = invocation_span(&ev.context.request_id);
        let budget = budget(ev.context.deadline());
        async move {
            let input = match deps.continuations.input_of(&ev.payload, (deps.clock)()) {
                Ok(input) => input,
                Err(refused) => {
                    // Not retried (it would be refused again), only counted.
                    tracing::error!(error = %refused, "report continuation refused");
                    afterhours_adapters::metrics::Counts::new()
                        .add("ReportContinuationsRefused", 1)
                        .emit();
                    return Ok(serde_json::json!({"refused": refused.0}));
                }
            };
            let summary = report::run(deps, &input, &budget).await;
            let handed = report::hand_off(deps, &summary).await;
            if let Some(e) = summary.error() {
                return Err(Error::from(e));
            }
            handed.map_err(Error::from)?;
            Ok::<Value, Error>(serde_json::to_value(summary)?)
        }
        .instrument(span)
        .await
    }))
    .await
}
