//! No input panics the rules that read it: arbitrary JSON values into
//! settings validation (serde's messages echo user text), arbitrary bytes
//! into the webhook payload reader.

use afterhours_rules::settings;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Text that exercises what broke before: backticks, underscores, multi-byte characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_`é ]{0,12}",
        "\\PC{0,16}",
        Just("`a__`".to_string()),
        Just("`_é`".to_string()),
        Just("24:00".to_string()),
        Just("America/Sao_Paulo".to_string()),
    ]
}

/// The settings' own field names, so values reach the deeper checks.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("timezone"),
        Just("language"),
        Just("alwaysOpen"),
        Just("notifyNextServiceHours"),
        Just("businessHours"),
        Just("weekly"),
        Just("exceptions"),
        Just("mon"),
        Just("sat"),
        Just("date"),
        Just("closed"),
        Just("intervals"),
        Just("activeMessageLimit"),
        Just("enabled"),
        Just("maxPerContactPer24h"),
        Just("promptTexts"),
        Just("body"),
        Just("yesButton"),
    ]
    .prop_map(String::from)
    .boxed()
    .prop_union(text().boxed())
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_json_value_panics_settings_validation(v in json()) {
        if let Err(errors) = settings::validate(&v) {
            prop_assert!(!errors.is_empty());
            prop_assert!(errors.iter().all(|e| !e.message.is_empty()));
        }
    }

    #[test]
    fn no_settings_object_with_odd_values_panics(fields in prop::collection::vec((key(), json()), 0..8)) {
        let v = Value::Object(fields.into_iter().collect());
        let _ = settings::validate(&v);
    }

    #[test]
    fn no_byte_string_panics_the_payload_reader(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = afterhours_rules::webhook::parse(&bytes);
    }
}
