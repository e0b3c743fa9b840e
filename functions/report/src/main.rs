//! The report Lambda, invoked by EventBridge Scheduler: logging, config and
//! clients once, then one report run per invocation.

use afterhours_adapters::lambda::init_failed;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    afterhours_adapters::logging::init();
    let deps = report::Deps::from_env().await.map_err(init_failed)?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let summary = report::run(deps).await;
        Ok::<Value, Error>(serde_json::to_value(summary)?)
    }))
    .await
}
