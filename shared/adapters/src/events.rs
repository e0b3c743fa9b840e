//! Publishing to the project's EventBridge bus: at most 10 entries per
//! `PutEvents`, entries that failed (`FailedEntryCount`) retried with backoff,
//! what still failed reported back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
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
    /// Entries to fail before sending (fault injection for tests of the retry path).
    injected_failures: Arc<AtomicUsize>,
}

impl Publisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Publisher {
            client,
            bus: bus.into(),
            max_attempts: 4,
            injected_failures: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Makes the next `n` entries fail as if EventBridge had counted them in
    /// `FailedEntryCount`, so tests can watch the retry.
    pub fn inject_failures(&self, n: usize) {
        self.injected_failures.store(n, Ordering::SeqCst);
    }

    fn take_injected(&self) -> bool {
        self.injected_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// Publishes every event, 10 per call, retrying failed entries.
    pub async fn publish(&self, events: &[Event]) -> PublishOutcome {
        let mut outcome = PublishOutcome::default();
        for chunk in events.chunks(10) {
            let mut pending: Vec<&Event> = chunk.iter().collect();
            for attempt in 0..self.max_attempts {
                if pending.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
                outcome.attempts += 1;
                let last = attempt + 1 == self.max_attempts;
                let (injected, to_send): (Vec<&Event>, Vec<&Event>) =
                    pending.iter().partition(|_| self.take_injected());
                let mut still: Vec<&Event> = Vec::new();
                for e in injected {
                    tracing::warn!(detail_type = %e.detail_type, attempt, "PutEvents entry failed (injected)");
                    if last {
                        outcome
                            .failed
                            .push((e.detail_type.clone(), "InjectedFailure".into()));
                    } else {
                        still.push(e);
                    }
                }
                pending = to_send;
                if pending.is_empty() {
                    pending = still;
                    continue;
                }
                let entries: Vec<PutEventsRequestEntry> = pending
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
                match self
                    .client
                    .put_events()
                    .set_entries(Some(entries))
                    .send()
                    .await
                {
                    Ok(res) => {
                        let results = res.entries.unwrap_or_default();
                        for (i, e) in pending.iter().enumerate() {
                            match results.get(i) {
                                Some(r) if r.event_id.is_some() && r.error_code.is_none() => {
                                    outcome.published += 1
                                }
                                r => {
                                    let why = r
                                        .map(|r| {
                                            format!(
                                                "{}: {}",
                                                r.error_code().unwrap_or("?"),
                                                r.error_message().unwrap_or("")
                                            )
                                        })
                                        .unwrap_or_else(|| "no result for this entry".into());
                                    tracing::warn!(detail_type = %e.detail_type, error = %why, attempt, "PutEvents entry failed");
                                    if last {
                                        outcome.failed.push((e.detail_type.clone(), why));
                                    } else {
                                        still.push(*e);
                                    }
                                }
                            }
                        }
                        pending = still;
                    }
                    Err(err) => {
                        let why = aws_sdk_eventbridge::error::DisplayErrorContext(&err).to_string();
                        tracing::warn!(error = %why, attempt, "PutEvents failed");
                        if last {
                            outcome.failed.extend(
                                pending.iter().map(|e| (e.detail_type.clone(), why.clone())),
                            );
                        } else {
                            still.extend(pending.iter().copied());
                        }
                        pending = still;
                    }
                }
            }
        }
        outcome
    }
}
