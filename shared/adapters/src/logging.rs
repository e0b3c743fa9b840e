//! Logs with `tracing`: JSON when Lambda's log format says so
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`), the level from `AWS_LAMBDA_LOG_LEVEL` or
//! `RUST_LOG`. Phone numbers are masked with `afterhours_rules::display::mask`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let filter =
        EnvFilter::try_new(filter_directive(&level)).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .without_time()
            .try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

/// Lambda's levels as `tracing` reads them: lower-cased, and `FATAL` (which
/// `tracing` does not have, and would read as a module name that silences
/// everything) as `error`. Anything else, such as a `RUST_LOG` directive, is kept.
pub fn filter_directive(level: &str) -> String {
    match level.trim().to_ascii_lowercase().as_str() {
        "fatal" => "error".into(),
        l @ ("trace" | "debug" | "info" | "warn" | "error" | "off") => l.into(),
        _ => level.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_fatal_is_tracings_error() {
        assert_eq!(filter_directive("FATAL"), "error");
        assert_eq!(filter_directive("WARN"), "warn");
        assert_eq!(filter_directive("webhook=debug"), "webhook=debug");
    }
}
