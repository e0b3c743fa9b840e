//! Publishing to the project's EventBridge bus: at most 10 entries per
//! `PutEvents`, entries that failed (`FailedEntryCount`) retried with backoff,
//! what still failed reported back. The retry path is tested with
//! `aws-smithy-mocks` (see `tests/tests/integration/events.rs`).

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use serde_json::Value;

/// The `Source` of every event this project puts on the bus.
pub const SOURCE: &str = "afterhours";
/// EventBridge's limit for one entry (the whole entry, detail included).
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// One event to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub detail_type: String,
    pub detail: Value,
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublishOutcome {
    pub published: usize,
    /// Entries that still failed after every retry: (detail type, error).
    pub failed: Vec<(String, String)>,
    pub attempts: usize,
}

/// The size EventBridge counts for an entry.
pub fn entry_size(e: &Event) -> usize {
    SOURCE.len() + e.detail_type.len() + e.detail.to_string().len()
}

#[derive(Clone)]
pub struct Publisher {
    client: Client,
    bus: String,
    max_attempts: usize,
}

/// An entry that did not make it, and why.
type Failed<'a> = (&'a Event, String);

impl Publisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Publisher {
            client,
            bus: bus.into(),
            max_attempts: 4,
        }
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// Publishes every event, 10 per call, retrying the entries that failed
    /// with a growing backoff; what still fails after the last attempt is reported.
    pub async fn publish(&self, events: &[Event]) -> PublishOutcome {
        let mut outcome = PublishOutcome::default();
        for chunk in events.chunks(10) {
            let mut pending: Vec<&Event> = chunk.iter().collect();
            for attempt in 0..self.max_attempts {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
                outcome.attempts += 1;
                let failed = self.put_batch(&pending, attempt).await;
                outcome.published += pending.len() - failed.len();
                if failed.is_empty() || attempt + 1 == self.max_attempts {
                    outcome.failed.extend(
                        failed
                            .into_iter()
                            .map(|(e, why)| (e.detail_type.clone(), why)),
                    );
                    break;
                }
                pending = failed.into_iter().map(|(e, _)| e).collect();
            }
        }
        outcome
    }

    /// One `PutEvents` call; returns the entries that failed (all of them when the call did).
    async fn put_batch<'a>(&self, batch: &[&'a Event], attempt: usize) -> Vec<Failed<'a>> {
        let entries: Vec<PutEventsRequestEntry> = batch
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(SOURCE)
                    .detail_type(&e.detail_type)
                    .detail(e.detail.to_string())
                    .build()
            })
            .collect();
        let res = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await;
        let results = match res {
            Ok(res) => res.entries.unwrap_or_default(),
            Err(err) => {
                let why = aws_sdk_eventbridge::error::DisplayErrorContext(&err).to_string();
                tracing::warn!(error = %why, attempt, "PutEvents failed");
                return batch.iter().map(|e| (*e, why.clone())).collect();
            }
        };
        let mut failed = Vec::new();
        for (i, e) in batch.iter().enumerate() {
            let why = match results.get(i) {
                Some(r) if r.event_id.is_some() && r.error_code.is_none() => continue,
                Some(r) => format!(
                    "{}: {}",
                    r.error_code().unwrap_or("?"),
                    r.error_message().unwrap_or("")
                ),
                None => "no result for this entry".into(),
            };
            tracing::warn!(detail_type = %e.detail_type, error = %why, attempt, "PutEvents entry failed");
            failed.push((*e, why));
        }
        failed
    }
}
