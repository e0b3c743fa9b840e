//! Logs with `tracing`: JSON when Lambda's log format says so
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`), the level from `AWS_LAMBDA_LOG_LEVEL` or
//! `RUST_LOG`. Phone numbers are masked with `afterhours_rules::display::mask`.
//!
//! The level is one level for the whole process (no per-module directives):
//! that is what Lambda's log controls set, and it keeps the regex engine of
//! `tracing-subscriber`'s `env-filter` out of every binary (about 0.25 MB).

use tracing_subscriber::filter::LevelFilter;

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_max_level(level_of(&level))
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

/// Lambda's levels as `tracing` reads them: `FATAL` (which `tracing` does
/// not have, and would otherwise silence everything) is `error`; anything
/// unknown is `info`.
pub fn level_of(level: &str) -> LevelFilter {
    match level.trim().to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" | "warning" => LevelFilter::WARN,
        "error" | "fatal" => LevelFilter::ERROR,
        "off" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_fatal_is_tracings_error() {
        assert_eq!(level_of("FATAL"), LevelFilter::ERROR);
        assert_eq!(level_of("WARN"), LevelFilter::WARN);
        assert_eq!(level_of("debug"), LevelFilter::DEBUG);
        assert_eq!(level_of("webhook=debug"), LevelFilter::INFO);
    }
}
