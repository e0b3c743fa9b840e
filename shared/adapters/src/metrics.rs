//! Metrics as CloudWatch Embedded Metric Format lines: one JSON
//! object per line on stdout, which Lambda sends to CloudWatch Logs, where it
//! becomes metrics in the `Afterhours` namespace without an API call (nothing
//! on the request's path, nothing at cold start). The local stack prints them
//! with its logs.
//!
//! No tenant dimension (tenants are many); a few metrics carry one small
//! dimension (Meta's error code, why a webhook item was skipped), published
//! both with and without it so alarms can use the total.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Afterhours";

/// Counts of one request or run, written as one line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counts(BTreeMap<&'static str, u64>);

impl Counts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` to the metric `name`.
    pub fn add(&mut self, name: &'static str, n: usize) -> &mut Self {
        *self.0.entry(name).or_default() += n as u64;
        self
    }

    /// The EMF line of the non-zero counts (`None` when all are zero).
    pub fn line(&self, now_ms: u64) -> Option<String> {
        let values: Vec<(&str, u64)> = self
            .0
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| (*k, *v))
            .collect();
        if values.is_empty() {
            return None;
        }
        Some(emf_line(now_ms, &values, None))
    }

    /// Writes the line to stdout.
    pub fn emit(&self) {
        if let Some(line) = self.line(now_ms()) {
            println!("{line}");
        }
    }
}

/// One metric with one dimension value (`MetaCode`, `Reason`), also counted
/// in the metric's total, as an EMF line.
pub fn dimensioned_line(now_ms: u64, name: &str, dimension: &str, value: &str, n: u64) -> String {
    emf_line(now_ms, &[(name, n)], Some((dimension, value)))
}

/// Writes [`dimensioned_line`] to stdout.
pub fn emit_dimensioned(name: &str, dimension: &str, value: &str, n: usize) {
    if n > 0 {
        println!(
            "{}",
            dimensioned_line(now_ms(), name, dimension, value, n as u64)
        );
    }
}

fn emf_line(now_ms: u64, values: &[(&str, u64)], dimension: Option<(&str, &str)>) -> String {
    let dimensions = match dimension {
        Some((d, _)) => json!([[], [d]]),
        None => json!([[]]),
    };
    let metrics: Vec<Value> = values
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({"Timestamp": now_ms, "CloudWatchMetrics": [
            {"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics}
        ]}),
    );
    if let Some((d, v)) = dimension {
        line.insert(d.into(), json!(v));
    }
    for (name, n) in values {
        line.insert((*name).into(), json!(n));
    }
    Value::Object(line).to_string()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_embedded_metric_format_with_only_the_counts_that_happened() {
        let mut c = Counts::new();
        c.add("ContactsRecorded", 2)
            .add("PromptsSent", 1)
            .add("PromptsFailed", 0);
        let line: Value = serde_json::from_str(&c.line(1_700_000_000_000).unwrap()).unwrap();
        assert_eq!(
            line,
            json!({"_aws": {"Timestamp": 1_700_000_000_000u64, "CloudWatchMetrics": [{"Namespace": "Afterhours",
                "Dimensions": [[]], "Metrics": [{"Name": "ContactsRecorded", "Unit": "Count"},
                {"Name": "PromptsSent", "Unit": "Count"}]}]}, "ContactsRecorded": 2, "PromptsSent": 1})
        );
        assert_eq!(Counts::new().line(1), None);
    }

    #[test]
    fn a_dimensioned_metric_is_also_published_as_its_total() {
        let line: Value =
            serde_json::from_str(&dimensioned_line(5, "GraphErrors", "MetaCode", "131047", 1))
                .unwrap();
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[], ["MetaCode"]])
        );
        assert_eq!(line["MetaCode"], "131047");
        assert_eq!(line["GraphErrors"], 1);
    }
}
