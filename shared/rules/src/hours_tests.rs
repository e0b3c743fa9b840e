//! Unit tests of `hours.rs`.

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
    assert_eq!(s.period_start(at(tz, "2026-11-23 18:00")), close);
    assert_eq!(s.period_start(at(tz, "2026-11-23 23:10")), close);
    assert_eq!(s.period_start(at(tz, "2026-11-24 08:59")), close);
    assert_ne!(s.period_start(at(tz, "2026-11-24 18:30")), close);
    // The weekend is one period from Friday 18:00.
    assert_eq!(
        s.period_start(at(tz, "2026-11-29 12:00")),
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
    assert_eq!(s.period_start(at(tz, "2026-12-07 17:59")), close);
    assert_eq!(
        s.period_start(at(tz, "2026-12-07 18:00")),
        close + Duration::days(7)
    );
    assert_eq!(
        s.period_start(at(tz, "2026-12-15 12:00")),
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
