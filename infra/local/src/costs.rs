//! What an operation costs in AWS, whole: API Gateway's HTTP API, Lambda (at
//! the measured duration and the function's configured memory, arm64) and
//! DynamoDB (the units it consumed), per operation and per million. Prices
//! are named constants with their date and region; the benchmark measures the
//! rest.

use std::time::Duration;

/// Where and when the prices below were read.
pub const PRICES_AS_OF: &str = "us-east-1, on-demand, as listed in November 2026";
/// HTTP API requests (the first 300 million a month), USD each.
pub const HTTP_API_REQUEST_USD: f64 = 1.00 / 1e6;
/// Lambda requests, USD each.
pub const LAMBDA_REQUEST_USD: f64 = 0.20 / 1e6;
/// Lambda compute on arm64 (Graviton), USD per GB-second (first 7.5 billion a month).
pub const LAMBDA_ARM64_GB_SECOND_USD: f64 = 0.000_013_333_4;
/// DynamoDB on-demand write and read request units, USD each.
pub const DYNAMODB_WRITE_UNIT_USD: f64 = 0.625 / 1e6;
pub const DYNAMODB_READ_UNIT_USD: f64 = 0.125 / 1e6;

/// The memory `template.yaml` gives the functions behind the API, and the report.
pub const API_FUNCTION_MEMORY_MB: u32 = 128;
pub const REPORT_MEMORY_MB: u32 = 256;

/// One operation as measured: DynamoDB units and requests (averaged), the
/// handler's median duration, the function's memory, and whether API Gateway
/// carries it (the scheduled report does not go through it).
#[derive(Debug, Clone)]
pub struct CostRow {
    pub operation: String,
    pub requests: f64,
    pub read_units: f64,
    pub write_units: f64,
    pub duration: Duration,
    pub memory_mb: u32,
    pub via_api: bool,
}

impl CostRow {
    pub fn api_usd(&self) -> f64 {
        if self.via_api {
            HTTP_API_REQUEST_USD
        } else {
            0.0
        }
    }

    /// Lambda bills duration by the millisecond, rounded up.
    pub fn lambda_usd(&self) -> f64 {
        let ms = (self.duration.as_secs_f64() * 1000.0).ceil().max(1.0);
        let gb = f64::from(self.memory_mb) / 1024.0;
        LAMBDA_REQUEST_USD + ms / 1000.0 * gb * LAMBDA_ARM64_GB_SECOND_USD
    }

    pub fn dynamodb_usd(&self) -> f64 {
        self.write_units * DYNAMODB_WRITE_UNIT_USD + self.read_units * DYNAMODB_READ_UNIT_USD
    }

    pub fn total_usd(&self) -> f64 {
        self.api_usd() + self.lambda_usd() + self.dynamodb_usd()
    }
}

/// The table `make bench` prints: one line per operation, USD per million.
pub fn table(rows: &[CostRow]) -> String {
    let mut out = format!(
        "{:<44} {:>5} {:>6} {:>6} {:>8} {:>9} {:>9} {:>9} {:>9}\n",
        "operation (USD per million)",
        "reqs",
        "RU",
        "WU",
        "ms p50",
        "API GW",
        "Lambda",
        "DynamoDB",
        "total"
    );
    for r in rows {
        let m = |usd: f64| format!("{:.2}", usd * 1e6);
        out.push_str(&format!(
            "{:<44} {:>5.1} {:>6.2} {:>6.2} {:>8.1} {:>9} {:>9} {:>9} {:>9}\n",
            r.operation,
            r.requests,
            r.read_units,
            r.write_units,
            r.duration.as_secs_f64() * 1000.0,
            m(r.api_usd()),
            m(r.lambda_usd()),
            m(r.dynamodb_usd()),
            m(r.total_usd()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ms: u64, write: f64, via_api: bool) -> CostRow {
        CostRow {
            operation: "x".into(),
            requests: 2.0,
            read_units: 0.5,
            write_units: write,
            duration: Duration::from_micros(ms * 1000 - 400),
            memory_mb: 128,
            via_api,
        }
    }

    #[test]
    fn a_million_operations_cost_the_sum_of_their_parts() {
        let r = row(20, 3.0, true);
        // 20 ms (19.6 rounded up) at 1/8 GB, plus the request.
        let lambda = 0.20 + 0.020 * 0.125 * 0.000_013_333_4 * 1e6;
        assert!((r.lambda_usd() * 1e6 - lambda).abs() < 1e-9);
        assert!((r.dynamodb_usd() * 1e6 - (3.0 * 0.625 + 0.5 * 0.125)).abs() < 1e-9);
        assert!((r.api_usd() * 1e6 - 1.0).abs() < 1e-9);
        assert!((r.total_usd() - (r.api_usd() + r.lambda_usd() + r.dynamodb_usd())).abs() < 1e-15);
        assert_eq!(row(20, 3.0, false).api_usd(), 0.0);
        let t = table(&[r]);
        assert!(t.lines().nth(1).unwrap().starts_with("x "), "{t}");
    }
}
