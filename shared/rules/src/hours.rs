//! Business hours: when a tenant's team is open, when it opens next, and which
//! closed period a moment belongs to. Everything takes the instant as an
//! argument; nothing here reads the clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::FieldError;

/// Minutes since local midnight; an end of `24:00` is 1440.
pub type Minute = u16;

/// One opening of a day, in local minutes. `end <= start` means it runs past
/// midnight into the next day (and belongs to the day it starts on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start: Minute,
    pub end: Minute,
}

impl Interval {
    /// The interval as minutes from the start of its own day (end may pass 1440).
    fn span(self) -> (u32, u32) {
        let (s, e) = (u32::from(self.start), u32::from(self.end));
        if e <= s {
            (s, e + 1440)
        } else {
            (s, e)
        }
    }
}

/// How far `next_opening` and `closed_period_start` look, in days.
pub const SEARCH_DAYS: i64 = 366;

/// A validated schedule: one time zone, intervals per weekday, date exceptions.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub tz: Tz,
    pub always_open: bool,
    /// Index 0 = Monday.
    pub weekly: [Vec<Interval>; 7],
    /// A date's own intervals; an empty list closes the whole date.
    pub exceptions: BTreeMap<NaiveDate, Vec<Interval>>,
}

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Parses `HH:MM` (00:00–23:59, and `24:00` when `allow_24` is set).
pub fn parse_hhmm(s: &str, allow_24: bool) -> Option<Minute> {
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return None;
    }
    let h = u16::from(b[0] - b'0') * 10 + u16::from(b[1] - b'0');
    let m = u16::from(b[3] - b'0') * 10 + u16::from(b[4] - b'0');
    if m > 59 {
        return None;
    }
    match h {
        0..=23 => Some(h * 60 + m),
        24 if allow_24 && m == 0 => Some(1440),
        _ => None,
    }
}

/// Formats local minutes back to `HH:MM`.
pub fn format_hhmm(m: Minute) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Parses a list of `["HH:MM","HH:MM"]` pairs, naming `field[i]` in every error,
/// and refuses overlaps within the list.
pub fn parse_intervals(
    field: &str,
    pairs: &[(String, String)],
    errors: &mut Vec<FieldError>,
) -> Vec<Interval> {
    let mut out = Vec::new();
    for (i, (s, e)) in pairs.iter().enumerate() {
        let f = format!("{field}[{i}]");
        match (parse_hhmm(s, false), parse_hhmm(e, true)) {
            (Some(start), Some(end)) if start == end => errors.push(FieldError::new(
                &f,
                "an interval needs a start different from its end",
            )),
            (Some(start), Some(end)) => out.push(Interval { start, end }),
            (None, _) => errors.push(FieldError::new(
                &f,
                format!("start {s:?} is not a time HH:MM (00:00-23:59)"),
            )),
            (_, None) => errors.push(FieldError::new(
                &f,
                format!("end {e:?} is not a time HH:MM (00:00-24:00)"),
            )),
        }
    }
    let mut spans: Vec<(usize, (u32, u32))> = out.iter().map(|iv| iv.span()).enumerate().collect();
    spans.sort_by_key(|(_, s)| *s);
    for w in spans.windows(2) {
        if w[1].1 .0 < w[0].1 .1 {
            errors.push(FieldError::new(
                &format!("{field}[{}]", w[1].0),
                format!("overlaps {field}[{}]", w[0].0),
            ));
        }
    }
    out
}

/// Refuses an overnight interval of one weekday that runs into the next day's first opening.
pub fn check_weekly_spill(weekly: &[Vec<Interval>; 7], errors: &mut Vec<FieldError>) {
    for d in 0..7 {
        let next = (d + 1) % 7;
        for iv in &weekly[d] {
            let (_, end) = iv.span();
            if end <= 1440 {
                continue;
            }
            let spill = end - 1440;
            if let Some((j, _)) = weekly[next]
                .iter()
                .enumerate()
                .find(|(_, n)| u32::from(n.start) < spill)
            {
                errors.push(FieldError::new(
                    &format!("businessHours.weekly.{}[{j}]", WEEKDAYS[next]),
                    format!("overlaps the overnight interval of {}", WEEKDAYS[d]),
                ));
            }
        }
    }
}

/// Resolves a local date and minute to an instant. A local time that does not
/// exist (a DST gap) moves forward to the first one that does; a time that
/// happens twice takes the earlier.
pub fn resolve_local(tz: Tz, date: NaiveDate, minute: u32) -> DateTime<Utc> {
    let naive: NaiveDateTime =
        date.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::minutes(i64::from(minute));
    for step in 0..=180 {
        match tz.from_local_datetime(&(naive + Duration::minutes(step))) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => continue,
        }
    }
    Utc.from_utc_datetime(&naive)
}

impl Schedule {
    /// A schedule that is always open (24/7 service).
    pub fn always_open(tz: Tz) -> Self {
        Schedule {
            tz,
            always_open: true,
            weekly: Default::default(),
            exceptions: BTreeMap::new(),
        }
    }

    fn intervals_of(&self, date: NaiveDate) -> &[Interval] {
        match self.exceptions.get(&date) {
            Some(list) => list,
            None => &self.weekly[date.weekday().num_days_from_monday() as usize],
        }
    }

    /// The openings that start on a local date, as instants, empty ones dropped.
    pub fn openings_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.intervals_of(date)
            .iter()
            .filter_map(|iv| {
                let (s, e) = iv.span();
                let start = resolve_local(self.tz, date, s);
                let end = resolve_local(self.tz, date, e);
                (start < end).then_some((start, end))
            })
            .collect()
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Whether the team is open at `t`.
    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        if self.always_open {
            return true;
        }
        let d = self.local_date(t);
        (-2..=0).any(|k| {
            d.checked_add_signed(Duration::days(k)).is_some_and(|date| {
                self.openings_on(date)
                    .iter()
                    .any(|(s, e)| *s <= t && t < *e)
            })
        })
    }

    /// The first instant at or after `t` when the team is open, looking at most
    /// [`SEARCH_DAYS`] ahead; `None` when it never opens in that range.
    pub fn next_opening(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(t) {
            return Some(t);
        }
        let d = self.local_date(t);
        let mut best: Option<DateTime<Utc>> = None;
        let mut found_at: Option<i64> = None;
        for k in -1..=SEARCH_DAYS {
            if found_at.is_some_and(|f| k > f + 1) {
                break;
            }
            let Some(date) = d.checked_add_signed(Duration::days(k)) else {
                break;
            };
            for (s, _) in self.openings_on(date) {
                if s > t && best.is_none_or(|b| s < b) {
                    best = Some(s);
                    found_at.get_or_insert(k);
                }
            }
        }
        best
    }

    /// The instant the closed period containing `t` began (the last closing at
    /// or before `t`), or `None` when the team never closed in the range searched
    /// or is open at `t`.
    pub fn closed_period_start(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(t) {
            return None;
        }
        let d = self.local_date(t);
        let mut best: Option<DateTime<Utc>> = None;
        let mut found_at: Option<i64> = None;
        for k in (-SEARCH_DAYS..=0).rev() {
            if found_at.is_some_and(|f| k < f - 2) {
                break;
            }
            let Some(date) = d.checked_add_signed(Duration::days(k)) else {
                break;
            };
            for (_, e) in self.openings_on(date) {
                if e <= t && best.is_none_or(|b| e > b) {
                    best = Some(e);
                    found_at.get_or_insert(k);
                }
            }
        }
        best
    }

    /// The key of the closed period a message at `t` belongs to: every message
    /// of one night maps to the same instant. A closure longer than the 7-day
    /// retention is cut into 7-day buckets so that a record never outlives it;
    /// a schedule with no closing in range buckets from the Unix epoch.
    pub fn period_start(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let base = self
            .closed_period_start(t)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let week = Duration::days(7);
        let elapsed = t - base;
        if elapsed < week {
            return base;
        }
        let buckets = elapsed.num_seconds() / week.num_seconds();
        base + Duration::seconds(buckets * week.num_seconds())
    }
}

#[cfg(test)]
#[path = "hours_tests.rs"]
mod tests;
