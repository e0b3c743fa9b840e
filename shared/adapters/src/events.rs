//! Publishing to the project's EventBridge bus: at most 10 entries and 256 KB
//! (as AWS counts them) per `PutEvents`, entries that failed
//! (`FailedEntryCount`) retried with backoff, what still failed reported back. The retry path is tested with
//! `aws-smithy-mocks` (see `tests/tests/integration/events.rs`).

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use serde_json::Value;

/// The `Source` of every event this project puts on the bus.
pub const SOURCE: &str = "afterhours";
/// EventBridge's limit for one entry (the whole entry, detail included).
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;
/// EventBridge's limit for all the entries of one `PutEvents` request.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// EventBridge's limit on entries per `PutEvents` request.
pub const MAX_REQUEST_ENTRIES: usize = 10;
/// What AWS counts for an entry's `Time`, sent or not.
const TIME_BYTES: usize = 14;

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

/// The size EventBridge counts for an entry: `Time` (14 bytes) plus the UTF-8
/// bytes of `Source`, `DetailType` and `Detail` (this project sends no `Resources`).
pub fn entry_size(e: &Event) -> usize {
    TIME_BYTES + SOURCE.len() + e.detail_type.len() + e.detail.to_string().len()
}

/// The events in `PutEvents` requests, in order: at most 10 per request and
/// 256 KB in total. An event over the entry limit gets a request of its own
/// (EventBridge will refuse that entry alone, not its neighbours).
pub fn batches<'a>(events: &[&'a Event]) -> Vec<Vec<&'a Event>> {
    let mut out: Vec<Vec<&'a Event>> = Vec::new();
    let mut size = 0usize;
    for e in events {
        let n = entry_size(e);
        let fits = out
            .last()
            .is_some_and(|b| b.len() < MAX_REQUEST_ENTRIES && size + n <= MAX_REQUEST_BYTES);
        if fits {
            size += n;
            if let Some(b) = out.last_mut() {
                b.push(e);
            }
        } else {
            out.push(vec![e]);
            size = n;
        }
    }
    out
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

    /// Publishes every event in [`batches`], retrying the entries that failed
    /// with a growing backoff; what still fails after the last attempt is reported.
    pub async fn publish(&self, events: &[Event]) -> PublishOutcome {
        let mut outcome = PublishOutcome::default();
        let all: Vec<&Event> = events.iter().collect();
        let mut pending = batches(&all);
        for attempt in 0..self.max_attempts {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                crate::retry::EVENTS.wait(attempt as u32).await;
            }
            let mut retry = Vec::new();
            for batch in &pending {
                outcome.attempts += 1;
                let failed = self.put_batch(batch, attempt).await;
                outcome.published += batch.len() - failed.len();
                if attempt + 1 == self.max_attempts {
                    outcome.failed.extend(
                        failed
                            .into_iter()
                            .map(|(e, why)| (e.detail_type.clone(), why)),
                    );
                } else {
                    retry.extend(failed.into_iter().map(|(e, _)| e));
                }
            }
            pending = batches(&retry);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(bytes: usize) -> Event {
        Event {
            detail_type: "T".into(),
            detail: json!({ "x": "y".repeat(bytes) }),
        }
    }

    #[test]
    fn requests_hold_at_most_ten_entries_and_256_kb() {
        let events: Vec<Event> = [100, 120_000, 120_000, 120_000, 10, 10]
            .into_iter()
            .chain(std::iter::repeat_n(10, 25))
            .map(event)
            .collect();
        let refs: Vec<&Event> = events.iter().collect();
        let b = batches(&refs);
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), events.len());
        for req in &b {
            assert!(req.len() <= MAX_REQUEST_ENTRIES);
            assert!(req.iter().map(|e| entry_size(e)).sum::<usize>() <= MAX_REQUEST_BYTES);
        }
        assert_eq!(b[0].len(), 3, "a third 120 KB entry would pass 256 KB");
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [3, 10, 10, 8]);
    }

    #[test]
    fn an_entry_counts_time_source_detail_type_and_detail() {
        let e = Event {
            detail_type: "Ab".into(),
            detail: json!({"é": 1}),
        };
        assert_eq!(
            entry_size(&e),
            14 + "afterhours".len() + 2 + "{\"é\":1}".len()
        );
    }
}
