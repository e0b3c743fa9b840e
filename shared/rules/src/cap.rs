//! The rolling-24h cap on active messages per (tenant, agent, customer).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// The window the cap counts over.
pub fn window() -> Duration {
    Duration::hours(24)
}

/// What the cap says about one more send at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub used: u32,
    /// When one more send becomes possible; `None` when it is possible now.
    pub available_at: Option<DateTime<Utc>>,
    pub retry_after_seconds: i64,
}

impl Quota {
    pub fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.used)
    }

    pub fn allows_one_more(&self) -> bool {
        self.available_at.is_none()
    }

    /// The JSON object the API shows, times in the tenant's zone.
    pub fn view(&self, tz: Tz) -> QuotaView {
        QuotaView {
            limit: self.limit,
            used: self.used,
            remaining: self.remaining(),
            available_at: self.available_at.map(|t| local_iso(t, tz)),
            retry_after_seconds: self.retry_after_seconds,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaView {
    pub limit: u32,
    pub used: u32,
    pub remaining: u32,
    pub available_at: Option<String>,
    pub retry_after_seconds: i64,
}

/// The send times that still count at `now` (strictly within the last 24 h), oldest first.
pub fn counted(sends: &[DateTime<Utc>], now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut live: Vec<DateTime<Utc>> = sends
        .iter()
        .copied()
        .filter(|s| *s + window() > now)
        .collect();
    live.sort();
    live
}

/// The quota at `now` given the counted send times and the limit X.
/// Over the cap, `available_at` is when enough sends leave the window for one
/// more: with exactly X counted, the oldest send + 24 h.
pub fn quota(sends: &[DateTime<Utc>], now: DateTime<Utc>, limit: u32) -> Quota {
    let live = counted(sends, now);
    let used = u32::try_from(live.len()).unwrap_or(u32::MAX);
    if used < limit {
        return Quota {
            limit,
            used,
            available_at: None,
            retry_after_seconds: 0,
        };
    }
    // With `used` counted and room for `limit`, the (used - limit + 1)-th oldest must expire.
    let idx = (used - limit) as usize;
    let at = live.get(idx).copied().unwrap_or(now) + window();
    let ms = (at - now).num_milliseconds().max(0);
    let retry = ((ms + 999) / 1000).max(1);
    Quota {
        limit,
        used,
        available_at: Some(at),
        retry_after_seconds: retry,
    }
}

/// ISO 8601 with the tenant's offset, to the second.
pub fn local_iso(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The cap's refusal of one more send: the quota at that moment, and the
/// tenant's zone its times are told in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub quota: Quota,
    pub now: DateTime<Utc>,
    pub tz: Tz,
}

impl Refusal {
    /// The quota as the API shows it.
    pub fn view(&self) -> QuotaView {
        self.quota.view(self.tz)
    }

    /// When one more send becomes possible, in the tenant's zone: "09:31"
    /// today, else with the day, month first ("11/22 08:00") or day first
    /// ("22/11 08:00"); `None` when it is possible now.
    pub fn when(&self, day_first: bool) -> Option<String> {
        let local = self.quota.available_at?.with_timezone(&self.tz);
        let same_day = local.date_naive() == self.now.with_timezone(&self.tz).date_naive();
        let format = match (same_day, day_first) {
            (true, _) => "%H:%M",
            (false, true) => "%d/%m %H:%M",
            (false, false) => "%m/%d %H:%M",
        };
        Some(local.format(format).to_string())
    }

    /// How long until then: "52 min", "3 h 05 min".
    pub fn wait(&self) -> String {
        human_duration(self.quota.retry_after_seconds)
    }

    /// The refusal in English (the desk's English day format, month first).
    pub fn message(&self) -> String {
        refusal_message(&self.quota, self.now, self.tz)
    }
}

/// "You can send another active message to this customer at 09:31 (in 52 min)".
pub fn refusal_message(q: &Quota, now: DateTime<Utc>, tz: Tz) -> String {
    let refusal = Refusal {
        quota: q.clone(),
        now,
        tz,
    };
    let Some(when) = refusal.when(false) else {
        return "You can send an active message to this customer now.".into();
    };
    format!(
        "This customer already got {} active messages from you in the last 24 hours (limit {}). You can send another active message to this customer at {} (in {}).",
        q.used,
        q.limit,
        when,
        refusal.wait()
    )
}

/// "52 min", "3 h 05 min", "45 s".
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 60 {
        return format!("{s} s");
    }
    let minutes = (s + 59) / 60;
    if minutes < 60 {
        format!("{minutes} min")
    } else {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(human_duration(-5), "0 s");
        assert_eq!(human_duration(59), "59 s");
        assert_eq!(human_duration(60), "1 min");
        assert_eq!(human_duration(61), "2 min");
        assert_eq!(human_duration(59 * 60), "59 min");
        assert_eq!(human_duration(3600), "1 h 00 min");
        assert_eq!(human_duration(3 * 3600 + 5 * 60), "3 h 05 min");
    }

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, h, m, 0).unwrap()
    }

    #[test]
    fn under_the_cap_a_send_is_allowed() {
        let q = quota(&[t(8, 0)], t(10, 0), 2);
        assert!(q.allows_one_more());
        assert_eq!((q.used, q.remaining(), q.retry_after_seconds), (1, 1, 0));
    }

    #[test]
    fn at_the_cap_the_oldest_send_plus_24h_frees_a_slot() {
        let sends = [t(12, 31), t(9, 31)];
        let now = t(8, 39) + Duration::days(1);
        let q = quota(&sends, now, 2);
        assert!(!q.allows_one_more());
        assert_eq!(q.available_at, Some(t(9, 31) + Duration::days(1)));
        assert_eq!(q.retry_after_seconds, 52 * 60);
        let msg = refusal_message(&q, now, chrono_tz::UTC);
        assert!(msg.contains("at 09:31 (in 52 min)"), "{msg}");
        // Tomorrow in the tenant's zone: the day is said, month first.
        let evening = t(23, 31);
        let q = quota(&[t(12, 31), t(20, 0)], evening, 2);
        let msg = refusal_message(&q, evening, chrono_tz::UTC);
        assert!(msg.contains("at 11/22 12:31 (in 13 h 00 min)"), "{msg}");
    }

    #[test]
    fn a_refusal_tells_when_in_the_tenants_zone_and_day_order() {
        let evening = t(23, 31);
        let q = quota(&[t(12, 31), t(20, 0)], evening, 2);
        let r = Refusal {
            quota: q.clone(),
            now: evening,
            tz: chrono_tz::UTC,
        };
        assert_eq!(r.when(false).as_deref(), Some("11/22 12:31"));
        assert_eq!(r.when(true).as_deref(), Some("22/11 12:31"));
        assert_eq!(r.wait(), "13 h 00 min");
        assert_eq!(r.message(), refusal_message(&q, evening, chrono_tz::UTC));
        assert_eq!(r.view(), q.view(chrono_tz::UTC));
        // In São Paulo the same moments are 20:31 and 09:31 the next morning.
        let sp = Refusal {
            tz: chrono_tz::America::Sao_Paulo,
            ..r.clone()
        };
        assert_eq!(sp.when(true).as_deref(), Some("22/11 09:31"));
        // A quota that allows one more has no time to tell.
        let open = Refusal {
            quota: quota(&[], evening, 2),
            ..r
        };
        assert_eq!(open.when(false), None);
    }

    #[test]
    fn a_send_exactly_24h_old_no_longer_counts() {
        let now = t(9, 0) + Duration::days(1);
        assert_eq!(quota(&[t(9, 0)], now, 1).used, 0);
        assert_eq!(quota(&[t(9, 1)], now, 1).used, 1);
    }

    #[test]
    fn a_lowered_limit_waits_for_enough_sends_to_leave() {
        let sends = [t(1, 0), t(2, 0), t(3, 0)];
        let q = quota(&sends, t(4, 0), 2);
        assert_eq!(q.available_at, Some(t(2, 0) + Duration::days(1)));
    }

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one_second() {
        let now = t(9, 0) + Duration::days(1) - Duration::milliseconds(1);
        let q = quota(&[t(9, 0)], now, 1);
        assert_eq!(q.retry_after_seconds, 1);
    }

    #[test]
    fn the_view_is_in_the_tenants_zone() {
        let q = quota(&[t(12, 31)], t(13, 0), 1);
        let v = q.view(chrono_tz::America::Sao_Paulo);
        assert_eq!(v.available_at.as_deref(), Some("2026-11-22T09:31:00-03:00"));
        assert_eq!(v.remaining, 0);
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(3120), "52 min");
        assert_eq!(human_duration(3 * 3600 + 5 * 60), "3 h 05 min");
    }
}
