//! Property tests of the business-hours rules over many schedules, zones and instants.

use std::collections::BTreeMap;

use afterhours_rules::hours::{Interval, Schedule};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

const ZONES: [Tz; 6] = [
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::America::Sao_Paulo,
    chrono_tz::Asia::Tokyo,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::UTC,
];

fn interval() -> impl Strategy<Value = Interval> {
    // Quarter hours, any start, any end (overnight included, 24:00 included).
    (0u16..96, 1u16..=96).prop_filter_map("non-empty", |(s, e)| {
        let (start, end) = (s * 15, e * 15);
        (start != end).then_some(Interval { start, end })
    })
}

fn schedule() -> impl Strategy<Value = Schedule> {
    (
        0usize..ZONES.len(),
        proptest::collection::vec(proptest::option::weighted(0.6, interval()), 7),
        proptest::collection::vec((0i64..800, proptest::option::of(interval())), 0..4),
    )
        .prop_map(|(z, days, exceptions)| {
            let mut weekly: [Vec<Interval>; 7] = Default::default();
            for (d, iv) in days.into_iter().enumerate() {
                weekly[d].extend(iv);
            }
            let base = NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
            let exceptions: BTreeMap<NaiveDate, Vec<Interval>> = exceptions
                .into_iter()
                .map(|(k, iv)| (base + Duration::days(k * 4), iv.into_iter().collect()))
                .collect();
            Schedule {
                tz: ZONES[z],
                always_open: false,
                weekly,
                exceptions,
            }
        })
}

/// Instants around the DST changes of the zones above, 2018 to 2026.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let start = Utc
        .with_ymd_and_hms(2018, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let end = Utc
        .with_ymd_and_hms(2026, 12, 31, 0, 0, 0)
        .unwrap()
        .timestamp();
    (start..end).prop_map(|s| Utc.timestamp_opt(s - s % 60, 0).unwrap())
}

/// `next_opening(t)` is open and nothing between `t` and it is; when there is
/// none, nothing is open in the year it searched.
fn check_next_opening(s: &Schedule, t: DateTime<Utc>) -> Result<(), TestCaseError> {
    let Some(next) = s.next_opening(t) else {
        // Openings start on local quarter hours, which are UTC quarter hours in
        // these zones: t itself and every quarter hour after it cover them all.
        prop_assert!(!s.is_open(t), "{t} is open but has no next opening");
        let mut u = t - Duration::minutes(t.timestamp() / 60 % 15) + Duration::minutes(15);
        while u < t + Duration::days(366) {
            prop_assert!(!s.is_open(u), "{u} is open, yet no next opening after {t}");
            u += Duration::minutes(15);
        }
        return Ok(());
    };
    prop_assert!(next >= t);
    prop_assert!(s.is_open(next), "next opening {next} is not open");
    // No open minute between t and the next opening (bounded to 2 days of minutes).
    let mut u = t;
    let stop = next.min(t + Duration::days(2));
    while u < stop {
        prop_assert!(!s.is_open(u), "{u} is open before the next opening {next}");
        u += Duration::minutes(1);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn next_opening_is_open_and_nothing_before_it_is(s in schedule(), t in instant()) {
        check_next_opening(&s, t)?;
    }

    #[test]
    fn a_schedule_of_exceptions_only_opens_on_them_or_never(s in schedule(), t in instant()) {
        // No weekly hours: past the last exception there is no next opening at all.
        let s = Schedule { weekly: Default::default(), ..s };
        check_next_opening(&s, t)?;
    }

    #[test]
    fn a_closed_instant_belongs_to_a_period_that_started_closed(s in schedule(), t in instant()) {
        if !s.is_open(t) {
            let key = s.period_start(t);
            prop_assert!(key <= t);
            if let Some(start) = s.closed_period_start(t) {
                prop_assert!(!s.is_open(start), "period start {start} is open");
                prop_assert!(s.is_open(start - Duration::minutes(1)), "no closing at {start}");
                // Every minute from the period's start to t is closed (bounded).
                let mut u = start.max(t - Duration::days(3));
                while u <= t {
                    prop_assert!(!s.is_open(u));
                    u += Duration::minutes(7);
                }
            }
        }
    }

    #[test]
    fn dst_changes_never_panic(s in schedule(), day in 0i64..3300, minute in 0i64..1440) {
        let t = Utc.with_ymd_and_hms(2018, 1, 1, 0, 0, 0).unwrap() + Duration::days(day) + Duration::minutes(minute);
        let _ = s.is_open(t);
        let _ = s.next_opening(t);
        let _ = s.period_start(t);
    }
}

#[test]
fn a_week_of_minutes_in_sao_paulo_agrees_with_the_wall_clock() {
    let tz = chrono_tz::America::Sao_Paulo;
    let mut weekly: [Vec<Interval>; 7] = Default::default();
    for d in weekly.iter_mut().take(5) {
        d.push(Interval {
            start: 8 * 60,
            end: 18 * 60,
        });
    }
    let s = Schedule {
        tz,
        always_open: false,
        weekly,
        exceptions: BTreeMap::new(),
    };
    let start = tz
        .with_ymd_and_hms(2026, 11, 22, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    for m in 0..7 * 1440 {
        let t = start + Duration::minutes(m);
        let local = t.with_timezone(&tz);
        use chrono::{Datelike, Timelike};
        let expect = local.weekday().num_days_from_monday() < 5 && (8..18).contains(&local.hour());
        assert_eq!(s.is_open(t), expect, "{local}");
    }
}
