//! Unsigned or badly signed POSTs: counted as `WebhookRejected` and logged at
//! most once a minute per instance (with how many there were), so that a
//! flood of forged requests costs neither a log line each nor an alarm
//! storm. Counts are written when a minute has passed since the last line,
//! at the next request of any kind; an instance that stops before that loses
//! at most its last minute's tally.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// How often the tally is written at most.
pub const EVERY: Duration = Duration::minutes(1);

#[derive(Debug, Default)]
pub struct Rejections(Mutex<Tally>);

#[derive(Debug, Default)]
struct Tally {
    pending: u64,
    last_written: Option<DateTime<Utc>>,
}

impl Rejections {
    /// Counts one refused POST; returns the count to write now, if it is time.
    pub fn refused(&self, now: DateTime<Utc>) -> Option<u64> {
        let mut t = self.0.lock().ok()?;
        t.pending += 1;
        t.due(now)
    }

    /// Any other request: writes what is pending once the minute has passed.
    pub fn tick(&self, now: DateTime<Utc>) -> Option<u64> {
        self.0.lock().ok()?.due(now)
    }
}

impl Tally {
    fn due(&mut self, now: DateTime<Utc>) -> Option<u64> {
        let time = self.last_written.is_none_or(|at| now - at >= EVERY);
        if self.pending == 0 || !time {
            return None;
        }
        self.last_written = Some(now);
        Some(std::mem::take(&mut self.pending))
    }
}

/// Writes the tally: one metric line and one log line.
pub fn write(count: u64) {
    let mut c = afterhours_adapters::metrics::Counts::new();
    c.add(
        "WebhookRejected",
        usize::try_from(count).unwrap_or(usize::MAX),
    );
    c.emit();
    tracing::warn!(
        refused = count,
        "webhook POSTs refused (missing or wrong X-Hub-Signature-256) since the last such line"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_first_refusal_is_written_then_at_most_one_line_a_minute_with_the_count() {
        let r = Rejections::default();
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        assert_eq!(r.refused(t0), Some(1));
        for s in [1, 10, 30, 59] {
            assert_eq!(r.refused(t0 + Duration::seconds(s)), None, "{s}");
        }
        // A signed request before the minute writes nothing; after it, the four pending.
        assert_eq!(r.tick(t0 + Duration::seconds(59)), None);
        assert_eq!(r.tick(t0 + Duration::seconds(60)), Some(4));
        assert_eq!(r.tick(t0 + Duration::seconds(200)), None, "nothing pending");
        // The next refusal a minute after the last line is written at once.
        assert_eq!(r.refused(t0 + Duration::seconds(120)), Some(1));
        assert_eq!(r.refused(t0 + Duration::seconds(150)), None);
        assert_eq!(r.refused(t0 + Duration::seconds(180)), Some(2));
    }
}
