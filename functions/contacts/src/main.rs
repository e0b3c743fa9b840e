//! The contacts Lambda: logging, config and clients once, then the handler.
// The AWS SDK's nested futures go past rustc's default query depth when
// `main` computes its layout (a known compiler limit, not a recursion here).
#![recursion_limit = "256"]

use afterhours_adapters::lambda::{init_failed, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    afterhours_adapters::logging::init();
    let deps = contacts::Deps::from_env().await.map_err(init_failed)?;
    run_http(|req| contacts::handle(&deps, req)).await
}
