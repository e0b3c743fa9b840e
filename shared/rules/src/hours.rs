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
    pub fn period_key(&self, t: DateTime<Utc>) -> DateTime<Utc> {
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
mod tests {
    use super::*;

    fn iv(s: &str, e: &str) -> Interval {
        Interval {
            start: parse_hhmm(s, false).unwrap(),
            end: parse_hhmm(e, true).unwrap(),
        }
    }

    fn sched(tz: Tz, days: &[(usize, Interval)]) -> Schedule {
        let mut weekly: [Vec<Interval>; 7] = Default::default();
        for (d, i) in days {
            weekly[*d].push(*i);
        }
        Schedule {
            tz,
            always_open: false,
            weekly,
            exceptions: BTreeMap::new(),
        }
    }

    #[test]
    fn times_are_hh_colon_mm_and_nothing_else() {
        assert_eq!(parse_hhmm("08:59", false), Some(8 * 60 + 59));
        assert_eq!(parse_hhmm("00:00", false), Some(0));
        assert_eq!(parse_hhmm("24:00", true), Some(1440));
        for bad in [
            "08-00", "08:0", "0800", "08:60", "24:00", "24:01", "x8:00", "", "08:000",
        ] {
            assert_eq!(parse_hhmm(bad, false), None, "{bad}");
        }
        assert_eq!(parse_hhmm("24:30", true), None);
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn intervals_that_touch_do_not_overlap() {
        let mut errors = Vec::new();
        let ivs = parse_intervals(
            "d",
            &pairs(&[("08:00", "12:00"), ("12:00", "18:00")]),
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(ivs.len(), 2);
        parse_intervals(
            "d",
            &pairs(&[("08:00", "12:01"), ("12:00", "18:00")]),
            &mut errors,
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn an_overnight_interval_may_end_where_the_next_day_begins() {
        let check = |next_day: Interval| {
            let mut weekly: [Vec<Interval>; 7] = Default::default();
            weekly[0].push(iv("22:00", "02:00"));
            weekly[1].push(next_day);
            let mut errors = Vec::new();
            check_weekly_spill(&weekly, &mut errors);
            errors
        };
        assert!(check(iv("02:00", "06:00")).is_empty());
        assert!(check(iv("08:00", "12:00")).is_empty());
        let errors = check(iv("01:59", "06:00"));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "businessHours.weekly.tue[0]");
    }

    #[test]
    fn the_next_opening_is_the_earliest_whatever_the_order_of_the_intervals() {
        let tz = chrono_tz::America::Sao_Paulo;
        let s = sched(tz, &[(0, iv("13:00", "18:00")), (0, iv("08:00", "12:00"))]);
        // Monday 2026-11-23, 07:00: the 08:00 opening, although listed second.
        assert_eq!(
            s.next_opening(at(tz, "2026-11-23 07:00")),
            Some(at(tz, "2026-11-23 08:00"))
        );
        assert_eq!(
            s.next_opening(at(tz, "2026-11-23 12:30")),
            Some(at(tz, "2026-11-23 13:00"))
        );
    }

    #[test]
    fn an_interval_that_falls_inside_a_dst_gap_never_opens() {
        // New York springs forward on 2026-03-08: 02:00-03:00 does not exist.
        let tz = chrono_tz::America::New_York;
        let mut s = sched(tz, &[]);
        let gap_day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        s.exceptions.insert(gap_day, vec![iv("02:10", "02:50")]);
        assert!(s.openings_on(gap_day).is_empty());
        assert_eq!(s.next_opening(at(tz, "2026-03-08 00:00")), None);
    }

    fn at(tz: Tz, s: &str) -> DateTime<Utc> {
        let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&n)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn weekdays_9_to_18(tz: Tz) -> Schedule {
        sched(
            tz,
            &(0..5)
                .map(|d| (d, iv("09:00", "18:00")))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn parses_times_and_refuses_malformed_ones() {
        assert_eq!(parse_hhmm("08:30", false), Some(510));
        assert_eq!(parse_hhmm("24:00", true), Some(1440));
        assert_eq!(parse_hhmm("24:00", false), None);
        assert_eq!(parse_hhmm("24:01", true), None);
        assert_eq!(parse_hhmm("8:30", false), None);
        assert_eq!(parse_hhmm("08:60", false), None);
        assert_eq!(parse_hhmm("0a:00", false), None);
        assert_eq!(format_hhmm(1439), "23:59");
    }

    #[test]
    fn start_is_inclusive_and_end_exclusive() {
        let tz = chrono_tz::America::Sao_Paulo;
        let s = weekdays_9_to_18(tz);
        assert!(!s.is_open(at(tz, "2026-11-23 08:59")));
        assert!(s.is_open(at(tz, "2026-11-23 09:00")));
        assert!(s.is_open(at(tz, "2026-11-23 17:59")));
        assert!(!s.is_open(at(tz, "2026-11-23 18:00")));
        assert!(!s.is_open(at(tz, "2026-11-22 12:00")), "sunday is closed");
    }

    #[test]
    fn several_intervals_a_day_leave_the_lunch_break_closed() {
        let tz = chrono_tz::Europe::Berlin;
        let s = sched(tz, &[(0, iv("08:00", "12:00")), (0, iv("13:00", "18:00"))]);
        assert!(s.is_open(at(tz, "2026-11-23 11:59")));
        assert!(!s.is_open(at(tz, "2026-11-23 12:30")));
        assert_eq!(
            s.next_opening(at(tz, "2026-11-23 12:30")),
            Some(at(tz, "2026-11-23 13:00"))
        );
        assert_eq!(
            s.closed_period_start(at(tz, "2026-11-23 12:30")),
            Some(at(tz, "2026-11-23 12:00"))
        );
    }

    #[test]
    fn overnight_interval_belongs_to_its_start_day() {
        let tz = chrono_tz::Asia::Tokyo;
        // Saturday 22:00 to Sunday 02:00.
        let s = sched(tz, &[(5, iv("22:00", "02:00"))]);
        assert!(s.is_open(at(tz, "2026-11-28 23:00")));
        assert!(s.is_open(at(tz, "2026-11-29 01:59")));
        assert!(!s.is_open(at(tz, "2026-11-29 02:00")));
        assert!(
            !s.is_open(at(tz, "2026-11-27 23:00")),
            "friday night is not open"
        );
        assert_eq!(
            s.closed_period_start(at(tz, "2026-11-29 10:00")),
            Some(at(tz, "2026-11-29 02:00"))
        );
    }

    #[test]
    fn end_of_24_00_closes_at_midnight() {
        let tz = chrono_tz::UTC;
        let s = sched(tz, &[(0, iv("20:00", "24:00"))]);
        assert!(s.is_open(at(tz, "2026-11-23 23:59")));
        assert!(!s.is_open(at(tz, "2026-11-24 00:00")));
        assert_eq!(
            s.closed_period_start(at(tz, "2026-11-24 03:00")),
            Some(at(tz, "2026-11-24 00:00"))
        );
    }

    #[test]
    fn exceptions_close_a_date_or_replace_its_intervals() {
        let tz = chrono_tz::America::Sao_Paulo;
        let mut s = weekdays_9_to_18(tz);
        s.exceptions
            .insert(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(), vec![]);
        s.exceptions.insert(
            NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
            vec![iv("08:00", "12:00")],
        );
        assert!(!s.is_open(at(tz, "2026-12-25 10:00")));
        assert!(s.is_open(at(tz, "2026-12-24 08:30")));
        assert!(!s.is_open(at(tz, "2026-12-24 13:00")));
        assert_eq!(
            s.next_opening(at(tz, "2026-12-24 13:00")),
            Some(at(tz, "2026-12-28 09:00"))
        );
    }

    #[test]
    fn next_opening_of_an_open_instant_is_itself() {
        let tz = chrono_tz::UTC;
        let s = weekdays_9_to_18(tz);
        let t = at(tz, "2026-11-23 10:00");
        assert_eq!(s.next_opening(t), Some(t));
    }

    #[test]
    fn friday_evening_opens_on_monday() {
        let tz = chrono_tz::America::Sao_Paulo;
        let s = weekdays_9_to_18(tz);
        assert_eq!(
            s.next_opening(at(tz, "2026-11-27 19:00")),
            Some(at(tz, "2026-11-30 09:00"))
        );
    }

    #[test]
    fn a_schedule_that_never_opens_has_no_next_opening() {
        let s = sched(chrono_tz::UTC, &[]);
        let t = at(chrono_tz::UTC, "2026-11-23 10:00");
        assert_eq!(s.next_opening(t), None);
        assert_eq!(s.closed_period_start(t), None);
        assert!(!s.is_open(t));
    }

    #[test]
    fn an_opening_further_than_the_search_range_is_not_found() {
        let tz = chrono_tz::UTC;
        let mut s = sched(tz, &[]);
        s.exceptions.insert(
            NaiveDate::from_ymd_opt(2028, 1, 1).unwrap(),
            vec![iv("09:00", "10:00")],
        );
        assert_eq!(s.next_opening(at(tz, "2026-01-01 00:00")), None);
        assert_eq!(
            s.next_opening(at(tz, "2027-12-01 00:00")),
            Some(at(tz, "2028-01-01 09:00"))
        );
    }

    #[test]
    fn always_open_is_never_closed() {
        let s = Schedule::always_open(chrono_tz::UTC);
        let t = at(chrono_tz::UTC, "2026-11-22 03:00");
        assert!(s.is_open(t));
        assert_eq!(s.next_opening(t), Some(t));
        assert_eq!(s.closed_period_start(t), None);
    }

    #[test]
    fn one_night_maps_to_one_period() {
        let tz = chrono_tz::America::Sao_Paulo;
        let s = weekdays_9_to_18(tz);
        let close = at(tz, "2026-11-23 18:00");
        assert_eq!(s.period_key(at(tz, "2026-11-23 18:00")), close);
        assert_eq!(s.period_key(at(tz, "2026-11-23 23:10")), close);
        assert_eq!(s.period_key(at(tz, "2026-11-24 08:59")), close);
        assert_ne!(s.period_key(at(tz, "2026-11-24 18:30")), close);
        // The weekend is one period from Friday 18:00.
        assert_eq!(
            s.period_key(at(tz, "2026-11-29 12:00")),
            at(tz, "2026-11-27 18:00")
        );
    }

    #[test]
    fn a_long_closure_is_cut_into_seven_day_buckets() {
        let tz = chrono_tz::UTC;
        let mut s = weekdays_9_to_18(tz);
        for d in 1..=20 {
            s.exceptions
                .insert(NaiveDate::from_ymd_opt(2026, 12, d).unwrap(), vec![]);
        }
        let close = at(tz, "2026-11-30 18:00");
        assert_eq!(s.period_key(at(tz, "2026-12-07 17:59")), close);
        assert_eq!(
            s.period_key(at(tz, "2026-12-07 18:00")),
            close + Duration::days(7)
        );
        assert_eq!(
            s.period_key(at(tz, "2026-12-15 12:00")),
            close + Duration::days(14)
        );
    }

    #[test]
    fn spring_forward_gap_opens_at_the_first_existing_minute() {
        // Berlin 2026-03-29: 02:00 -> 03:00.
        let tz = chrono_tz::Europe::Berlin;
        let s = sched(tz, &[(6, iv("02:30", "05:00"))]);
        let opening = s.next_opening(at(tz, "2026-03-29 00:00")).unwrap();
        assert_eq!(
            opening.with_timezone(&tz).format("%H:%M %:z").to_string(),
            "03:00 +02:00"
        );
        assert!(s.is_open(at(tz, "2026-03-29 03:10")));
    }

    #[test]
    fn fall_back_overlap_uses_the_first_occurrence() {
        // New York 2026-11-01: 02:00 EDT -> 01:00 EST, so 01:30 happens twice.
        let tz = chrono_tz::America::New_York;
        let s = sched(tz, &[(6, iv("01:30", "09:00"))]);
        let opening = s.next_opening(at(tz, "2026-11-01 00:00")).unwrap();
        assert_eq!(
            opening.with_timezone(&tz).format("%H:%M %:z").to_string(),
            "01:30 -04:00"
        );
        // Open from the first 01:30 until 09:00 EST: 7.5 hours of wall clock last 8.5.
        let (start, end) = s.openings_on(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())[0];
        assert_eq!((end - start).num_minutes(), 7 * 60 + 30 + 60);
    }

    #[test]
    fn sao_paulo_historic_midnight_dst_gap_does_not_panic() {
        // 2018-11-04: clocks in Sao Paulo jumped from 00:00 to 01:00.
        let tz = chrono_tz::America::Sao_Paulo;
        let s = sched(tz, &[(6, iv("00:00", "02:00")), (5, iv("20:00", "24:00"))]);
        let t = Utc.with_ymd_and_hms(2018, 11, 4, 2, 30, 0).unwrap();
        assert!(s.is_open(t) || s.next_opening(t).is_some());
        let open = s.openings_on(NaiveDate::from_ymd_opt(2018, 11, 4).unwrap());
        assert_eq!(
            open[0].0.with_timezone(&tz).format("%H:%M").to_string(),
            "01:00"
        );
    }

    #[test]
    fn validation_names_the_field() {
        let mut errors = Vec::new();
        let pairs = vec![
            ("08:00".to_string(), "12:00".to_string()),
            ("11:00".to_string(), "13:00".to_string()),
            ("25:00".to_string(), "26:00".to_string()),
            ("09:00".to_string(), "09:00".to_string()),
        ];
        parse_intervals("businessHours.weekly.mon", &pairs, &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"businessHours.weekly.mon[1]"),
            "{errors:?}"
        );
        assert!(
            fields.contains(&"businessHours.weekly.mon[2]"),
            "{errors:?}"
        );
        assert!(
            fields.contains(&"businessHours.weekly.mon[3]"),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.message.contains("overlaps")));
    }

    #[test]
    fn overnight_spill_into_next_day_is_an_overlap() {
        let mut weekly: [Vec<Interval>; 7] = Default::default();
        weekly[5].push(iv("22:00", "02:00"));
        weekly[6].push(iv("01:00", "05:00"));
        let mut errors = Vec::new();
        check_weekly_spill(&weekly, &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "businessHours.weekly.sun[0]");
    }
}
