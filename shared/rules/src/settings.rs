//! A tenant's settings as the admin API sends them, their validation, and the
//! schedule they describe.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hours::{check_weekly_spill, parse_intervals, Interval, Schedule, WEEKDAYS};
use crate::prompt::{PromptTexts, LANGUAGES};
use crate::FieldError;

/// The largest cap an admin may set.
pub const MAX_PER_24H: u32 = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveMessageLimit {
    pub enabled: bool,
    pub max_per_contact_per24h: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Exception {
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BusinessHours {
    #[serde(default)]
    pub weekly: BTreeMap<String, Vec<(String, String)>>,
    #[serde(default)]
    pub exceptions: Vec<Exception>,
}

/// The settings document of `GET/PUT /settings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub timezone: String,
    pub language: String,
    pub always_open: bool,
    pub notify_next_service_hours: bool,
    pub business_hours: BusinessHours,
    pub active_message_limit: ActiveMessageLimit,
    /// Overrides of the next-hours prompt's texts; absent = the language's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_texts: Option<PromptTexts>,
}

impl Default for Settings {
    /// What a tenant that saved nothing gets: Sao Paulo, Monday to Friday
    /// 08:00–18:00, the prompt on, the cap off (2 a day once an admin turns it on).
    fn default() -> Self {
        let weekly = WEEKDAYS[..5]
            .iter()
            .map(|d| {
                (
                    d.to_string(),
                    vec![("08:00".to_string(), "18:00".to_string())],
                )
            })
            .collect();
        Settings {
            timezone: "America/Sao_Paulo".into(),
            language: "pt_BR".into(),
            always_open: false,
            notify_next_service_hours: true,
            business_hours: BusinessHours {
                weekly,
                exceptions: vec![],
            },
            // The cap is an option an admin turns on (seed 2).
            active_message_limit: ActiveMessageLimit {
                enabled: false,
                max_per_contact_per24h: 2,
            },
            prompt_texts: None,
        }
    }
}

/// Settings that passed validation, with the schedule ready to use.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantRules {
    pub settings: Settings,
    pub schedule: Schedule,
}

impl TenantRules {
    pub fn tz(&self) -> Tz {
        self.schedule.tz
    }

    /// The cap, or `None` when it is off.
    pub fn cap(&self) -> Option<u32> {
        let l = &self.settings.active_message_limit;
        l.enabled.then_some(l.max_per_contact_per24h)
    }

    pub fn prompt_texts(&self) -> PromptTexts {
        self.settings
            .prompt_texts
            .clone()
            .unwrap_or_else(|| PromptTexts::defaults(&self.settings.language))
    }
}

/// Validates a settings JSON value, returning every bad field at once.
pub fn validate(value: &Value) -> Result<TenantRules, Vec<FieldError>> {
    let settings: Settings = match serde_path_to_error::deserialize(value) {
        Ok(s) => s,
        Err(e) => return Err(vec![shape_error(value, &e)]),
    };
    let mut errors = Vec::new();
    let tz: Option<Tz> = settings.timezone.parse().ok();
    if tz.is_none() {
        errors.push(FieldError::new(
            "timezone",
            format!("{:?} is not an IANA time zone", settings.timezone),
        ));
    }
    if !LANGUAGES.contains(&settings.language.as_str()) {
        errors.push(FieldError::new(
            "language",
            format!(
                "{:?} is not supported; use one of {}",
                settings.language,
                LANGUAGES.join(", ")
            ),
        ));
    }
    let limit = &settings.active_message_limit;
    if !(1..=MAX_PER_24H).contains(&limit.max_per_contact_per24h) {
        errors.push(FieldError::new(
            "activeMessageLimit.maxPerContactPer24h",
            format!("must be between 1 and {MAX_PER_24H}"),
        ));
    }
    let weekly = weekly_hours(&settings.business_hours, &mut errors);
    let exceptions = exception_hours(&settings.business_hours, &mut errors);
    if let Some(texts) = &settings.prompt_texts {
        texts.validate(&mut errors);
    }
    match (tz, errors.is_empty()) {
        (Some(tz), true) => Ok(TenantRules {
            schedule: Schedule {
                tz,
                always_open: settings.always_open,
                weekly,
                exceptions,
            },
            settings,
        }),
        _ => Err(errors),
    }
}

/// The weekly intervals, by weekday (Monday first).
fn weekly_hours(hours: &BusinessHours, errors: &mut Vec<FieldError>) -> [Vec<Interval>; 7] {
    let mut weekly: [Vec<Interval>; 7] = Default::default();
    for (day, pairs) in &hours.weekly {
        let field = format!("businessHours.weekly.{day}");
        match WEEKDAYS.iter().position(|d| d == day) {
            Some(i) => weekly[i] = parse_intervals(&field, pairs, errors),
            None => errors.push(FieldError::new(
                &field,
                "is not a weekday; use mon, tue, wed, thu, fri, sat, sun",
            )),
        }
    }
    check_weekly_spill(&weekly, errors);
    weekly
}

/// The date exceptions: closed all day, or that date's own intervals.
fn exception_hours(
    hours: &BusinessHours,
    errors: &mut Vec<FieldError>,
) -> BTreeMap<NaiveDate, Vec<Interval>> {
    let mut exceptions = BTreeMap::new();
    for (i, ex) in hours.exceptions.iter().enumerate() {
        let field = format!("businessHours.exceptions[{i}]");
        let Ok(date) = NaiveDate::parse_from_str(&ex.date, "%Y-%m-%d") else {
            errors.push(FieldError::new(
                &format!("{field}.date"),
                format!("{:?} is not a date YYYY-MM-DD", ex.date),
            ));
            continue;
        };
        let list = match (ex.closed, &ex.intervals) {
            (Some(true), None) => vec![],
            (None | Some(false), Some(pairs)) => {
                parse_intervals(&format!("{field}.intervals"), pairs, errors)
            }
            _ => {
                errors.push(FieldError::new(
                    &field,
                    "needs either \"closed\": true or \"intervals\"",
                ));
                continue;
            }
        };
        if exceptions.insert(date, list).is_some() {
            errors.push(FieldError::new(
                &format!("{field}.date"),
                format!("{} appears twice", ex.date),
            ));
        }
    }
    exceptions
}

/// A value of the wrong shape as a field error, at the path where reading
/// stopped (`businessHours.weekly.mon[0]`). A missing field is named by its
/// object's path and its own name.
fn shape_error(value: &Value, e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    if !value.is_object() {
        return FieldError::new("", "settings must be a JSON object");
    }
    let message = e.inner().to_string();
    let at = e.path().to_string();
    let at = at.trim_start_matches('.');
    let field = match message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        Some(missing) if at.is_empty() => missing.to_string(),
        Some(missing) => format!("{at}.{missing}"),
        None => at.to_string(),
    };
    FieldError::new(&field, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_carry_the_tenants_zone() {
        let mut doc = serde_json::to_value(Settings::default()).unwrap();
        doc["timezone"] = serde_json::json!("Asia/Tokyo");
        let rules = validate(&doc).unwrap();
        assert_eq!(rules.tz(), chrono_tz::Asia::Tokyo);
    }

    #[test]
    fn user_text_echoed_by_serde_never_panics_the_field_naming() {
        for bad in ["`a__`", "`a_é`", "`_`", "`é_`"] {
            let errors = validate(&serde_json::json!({ "alwaysOpen": bad })).unwrap_err();
            assert!(!errors.is_empty(), "{bad}");
        }
    }
    use serde_json::json;

    fn spec_example() -> Value {
        json!({ "timezone": "America/Sao_Paulo", "language": "pt_BR",
          "alwaysOpen": false, "notifyNextServiceHours": true,
          "businessHours": { "weekly": { "mon": [["08:00","12:00"],["13:00","18:00"]], "sat": [["22:00","02:00"]] },
                             "exceptions": [ {"date": "2026-12-25", "closed": true},
                                             {"date": "2026-12-24", "intervals": [["08:00","12:00"]]} ] },
          "activeMessageLimit": { "enabled": true, "maxPerContactPer24h": 2 } })
    }

    #[test]
    fn the_spec_example_is_valid() {
        let rules = validate(&spec_example()).unwrap();
        assert_eq!(rules.schedule.weekly[0].len(), 2);
        assert_eq!(rules.schedule.exceptions.len(), 2);
        assert_eq!(rules.cap(), Some(2));
        assert_eq!(
            serde_json::to_value(&rules.settings).unwrap(),
            spec_example()
        );
    }

    #[test]
    fn defaults_are_valid() {
        let v = serde_json::to_value(Settings::default()).unwrap();
        assert!(validate(&v).is_ok());
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut v = spec_example();
        v["timezone"] = json!("Mars/Olympus");
        v["language"] = json!("xx_XX");
        v["activeMessageLimit"]["maxPerContactPer24h"] = json!(0);
        v["businessHours"]["weekly"]["funday"] = json!([["08:00", "09:00"]]);
        v["businessHours"]["exceptions"][0]["date"] = json!("2026-13-01");
        let errors = validate(&v).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "timezone",
            "language",
            "activeMessageLimit.maxPerContactPer24h",
            "businessHours.weekly.funday",
            "businessHours.exceptions[0].date",
        ] {
            assert!(fields.contains(&f), "{f} missing in {errors:?}");
        }
    }

    #[test]
    fn wrong_types_name_the_field() {
        let mut v = spec_example();
        v["alwaysOpen"] = json!("yes");
        let errors = validate(&v).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("invalid type"), "{errors:?}");
        assert_eq!(errors[0].field, "alwaysOpen", "{errors:?}");
        let mut v = spec_example();
        v["businessHours"]["weekly"]["mon"] = json!([["08:00", 9]]);
        let errors = validate(&v).unwrap_err();
        assert_eq!(
            errors[0].field, "businessHours.weekly.mon[0][1]",
            "{errors:?}"
        );
        let errors = validate(&json!([1, 2])).unwrap_err();
        assert_eq!(errors[0].message, "settings must be a JSON object");
        let mut v = spec_example();
        v.as_object_mut().unwrap().remove("activeMessageLimit");
        let errors = validate(&v).unwrap_err();
        assert_eq!(errors[0].field, "activeMessageLimit", "{errors:?}");
        // A field missing inside an object is named by its whole path.
        let mut v = spec_example();
        v["activeMessageLimit"]
            .as_object_mut()
            .unwrap()
            .remove("enabled");
        let errors = validate(&v).unwrap_err();
        assert_eq!(errors[0].field, "activeMessageLimit.enabled", "{errors:?}");
    }

    #[test]
    fn an_exception_needs_closed_or_intervals() {
        let mut v = spec_example();
        v["businessHours"]["exceptions"][0] = json!({"date": "2026-12-25"});
        let errors = validate(&v).unwrap_err();
        assert_eq!(errors[0].field, "businessHours.exceptions[0]");
    }

    #[test]
    fn a_cap_can_be_turned_off() {
        let mut v = spec_example();
        v["activeMessageLimit"]["enabled"] = json!(false);
        assert_eq!(validate(&v).unwrap().cap(), None);
    }
}
