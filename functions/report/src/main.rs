//! The report Lambda, invoked by EventBridge Scheduler: logging, config and
//! clients once, then one report run per invocation.

use afterhours_adapters::lambda::{init_failed, invocation_span};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    afterhours_adapters::logging::init();
    let deps = report::Deps::from_env().await.map_err(init_failed)?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Value>| async move {
        let span = invocation_span(&ev.context.request_id);
        let summary = report::run(deps).instrument(span).await;
        Ok::<Value, Error>(serde_json::to_value(summary)?)
    }))
    .await
}
