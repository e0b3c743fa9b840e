//! Unit tests of `templates.rs`.

use super::*;

fn positional() -> Template {
    Template::from_meta(&json!({
        "name": "retorno", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Pedido {{1}}"},
            {"type": "BODY", "text": "Olá {{1}}, vimos sua mensagem de {{2}}. {{1}}, podemos ajudar?"},
            {"type": "FOOTER", "text": "Equipe"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Ok"},
                {"type": "URL", "text": "Ver", "url": "https://x.example/p/{{1}}"}]}
        ]
    }))
    .unwrap()
}

fn named() -> Template {
    Template::from_meta(&json!({
        "name": "order", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [{"type": "BODY", "text": "Hi {{customer_name}}, order {{order_id}} is ready."}]
    }))
    .unwrap()
}

#[test]
fn positional_variables_are_in_numeric_order_and_named_ones_as_written() {
    let t = Template::from_meta(&json!({
        "name": "n", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "{{10}} {{2}} {{1}}"}]
    }))
    .unwrap();
    assert_eq!(t.variable_keys(), ["1", "2", "10"]);
    let n = Template::from_meta(&json!({
        "name": "n", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [{"type": "BODY", "text": "{{zeta}} {{alpha}}"}]
    }))
    .unwrap();
    assert_eq!(n.variable_keys(), ["zeta", "alpha"]);
}

#[test]
fn only_an_approved_template_may_be_sent() {
    assert!(positional().is_approved());
    let mut pending = positional();
    pending.status = TemplateStatus::Pending;
    assert!(!pending.is_approved());
}

#[test]
fn the_desks_view_shows_the_text_header_or_the_media_header() {
    let v = positional().view();
    assert_eq!(v["name"], "retorno");
    assert_eq!(v["headerText"], "Pedido {{1}}");
    assert_eq!(v["header"], Value::Null);
    assert_eq!(v["footer"], "Equipe");
    assert_eq!(v["variables"], json!(["header.1", "1", "2", "button.1.1"]));
    let media = Template::from_meta(&json!({
        "name": "foto", "language": "pt_BR", "status": "APPROVED", "category": "MARKETING",
        "components": [{"type": "header", "format": "IMAGE"}, {"type": "BODY", "text": "Olha, {{1}}!"}]
    }))
    .unwrap();
    let v = media.view();
    assert_eq!(v["headerText"], Value::Null);
    assert_eq!(v["header"], json!({"format": "IMAGE"}));
    assert_eq!(v["variables"], json!(["1"]));
}

#[test]
fn a_variable_may_fill_its_slot_exactly() {
    let t = positional();
    let at = |header: usize| {
        t.validate_variables(&vars(&[
            ("header.1", json!("x".repeat(header))),
            ("1", json!("Maria")),
            ("2", json!("ontem")),
            ("button.1.1", json!("42")),
        ]))
    };
    assert!(at(Slot::Header.max_len()).is_ok());
    let refused = at(Slot::Header.max_len() + 1).unwrap_err();
    assert_eq!(refused[0].problem, "too_long");
}

#[test]
fn a_bare_list_of_templates_is_read_like_metas_page() {
    let list = json!([{"name": "a", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY",
                      "components": [{"type": "BODY", "text": "oi"}]}]);
    let paged = json!({"data": list.clone()});
    assert_eq!(parse_template_list(&list).unwrap().len(), 1);
    assert_eq!(parse_template_list(&paged).unwrap().len(), 1);
    assert!(parse_template_list(&json!("x")).is_err());
}

fn vars(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn placeholders_are_found_once_in_order() {
    assert_eq!(placeholders("{{2}} and {{1}} and {{2}}"), ["2", "1"]);
    assert_eq!(placeholders("Hi {{customer_name}}"), ["customer_name"]);
    assert!(placeholders("no {{ }} {{Bad-Name}} here {{").is_empty());
}

#[test]
fn variables_of_header_body_and_url_buttons() {
    assert_eq!(
        positional().variable_keys(),
        ["header.1", "1", "2", "button.1.1"]
    );
    assert_eq!(named().variable_keys(), ["customer_name", "order_id"]);
}

#[test]
fn every_variable_gets_its_own_error() {
    let t = positional();
    let errors = t
        .validate_variables(&vars(&[
            ("1", json!("Maria\nSilva")),
            ("2", json!("a\tb")),
            ("header.1", json!("x     y")),
            ("extra", json!("?")),
        ]))
        .unwrap_err();
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.variable.as_str(), e.problem))
        .collect();
    assert_eq!(
        got,
        [
            ("header.1", "spaces"),
            ("1", "newline"),
            ("2", "tab"),
            ("button.1.1", "missing"),
            ("extra", "unknown")
        ]
    );
}

#[test]
fn empty_wrong_type_and_too_long_are_refused() {
    let t = named();
    let errors = t
        .validate_variables(&vars(&[
            ("customer_name", json!("   ")),
            ("order_id", json!({"a": 1})),
        ]))
        .unwrap_err();
    assert_eq!(errors[0].problem, "empty");
    assert_eq!(errors[1].problem, "not_text");
    let errors = t
        .validate_variables(&vars(&[
            ("customer_name", json!("x".repeat(1025))),
            ("order_id", json!(42)),
        ]))
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].problem, "too_long");
    assert!(errors[0].message.contains("1025"));
}

#[test]
fn four_spaces_are_allowed_five_are_not() {
    let t = named();
    assert!(t
        .validate_variables(&vars(&[
            ("customer_name", json!("a    b")),
            ("order_id", json!("1"))
        ]))
        .is_ok());
    let refused = t
        .validate_variables(&vars(&[
            ("customer_name", json!("a     b")),
            ("order_id", json!("1")),
        ]))
        .unwrap_err();
    assert_eq!(
        refused
            .iter()
            .map(|e| (e.variable.as_str(), e.problem))
            .collect::<Vec<_>>(),
        [("customer_name", "spaces")]
    );
}

#[test]
fn preview_and_components_of_a_positional_template() {
    let t = positional();
    let values = t
        .validate_variables(&vars(&[
            ("header.1", json!("#42")),
            ("1", json!("Maria")),
            ("2", json!("ontem")),
            ("button.1.1", json!("42")),
        ]))
        .unwrap();
    assert_eq!(
        t.preview(&values),
        "Pedido #42\n\nOlá Maria, vimos sua mensagem de ontem. Maria, podemos ajudar?\n\nEquipe"
    );
    let c = t.send_components(&values);
    assert_eq!(
        Value::Array(c),
        json!([
            {"type": "header", "parameters": [{"type": "text", "text": "#42"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Maria"}, {"type": "text", "text": "ontem"}]},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "42"}]}
        ])
    );
}

#[test]
fn named_components_carry_parameter_names() {
    let t = named();
    let values = t
        .validate_variables(&vars(&[
            ("customer_name", json!("Ana")),
            ("order_id", json!("7")),
        ]))
        .unwrap();
    assert_eq!(
        t.send_components(&values)[0]["parameters"][1],
        json!({"type": "text", "parameter_name": "order_id", "text": "7"})
    );
}

#[test]
fn a_list_is_read_whole_or_refused() {
    let ok = json!({"data": [
        {"name": "a", "language": "pt_BR", "status": "APPROVED", "components": [{"type": "BODY", "text": "x"}]},
        {"name": "b", "language": "pt_BR", "status": "PENDING", "components": [{"type": "BODY", "text": "y {{1}}"}]}]});
    let list = parse_template_list(&ok).unwrap();
    assert_eq!(list.iter().filter(|t| t.is_approved()).count(), 1);
    let bad = json!({"data": [{"name": "a", "language": "pt_BR", "components": []}]});
    assert_eq!(
        parse_template_list(&bad).unwrap_err(),
        "data[0]: template \"a\" has no BODY text"
    );
    assert!(parse_template_list(&json!("x")).is_err());
    let dup = json!({"data": [ok["data"][0], ok["data"][0]]});
    assert!(parse_template_list(&dup)
        .unwrap_err()
        .contains("appears twice"));
}

#[test]
fn metas_shapes_are_read_as_types_and_errors_name_their_path() {
    // Kinds and statuses this code does not know are kept, not refused.
    let t = Template::from_meta(&json!({
        "name": "novo", "language": "pt_BR", "status": "in_appeal",
        "components": [{"type": "CAROUSEL", "cards": []}, {"type": "BODY", "text": "Oi {{1}}"}]
    }))
    .unwrap();
    assert_eq!(t.status, TemplateStatus::InAppeal);
    assert_eq!(t.status.to_string(), "IN_APPEAL");
    assert_eq!(t.variable_keys(), vec!["1"]);
    let later = Template::from_meta(&json!({
        "name": "x", "language": "pt_BR", "status": "ARCHIVED",
        "components": [{"type": "BODY", "text": "y"}]
    }))
    .unwrap();
    assert_eq!(later.status, TemplateStatus::Other("ARCHIVED".into()));
    assert!(!later.is_approved());
    // A wrong shape is named where it is (a component as a whole: its kind decides its fields).
    let bad = json!({"data": [
        {"name": "a", "language": "pt_BR", "components": [{"type": "BODY", "text": "x"}]},
        {"name": "b", "language": "pt_BR", "components": [{"type": "BODY", "text": 3}]}]});
    let e = parse_template_list(&bad).unwrap_err();
    assert!(
        e.starts_with("data[1]: components[0]: invalid type: integer `3`"),
        "{e}"
    );
    let e = Template::from_meta(&json!({"language": "pt_BR"})).unwrap_err();
    assert_eq!(e, "missing field `name`");
}

#[test]
fn the_parameter_format_is_read_in_any_case_and_an_unknown_one_refused() {
    let with = |format: &str| {
        Template::from_meta(&json!({
            "name": "x", "language": "pt_BR", "parameter_format": format,
            "components": [{"type": "BODY", "text": "Oi {{1}}"}]
        }))
    };
    assert_eq!(
        with("POSITIONAL").unwrap().parameter_format,
        ParameterFormat::Positional
    );
    assert_eq!(
        with("named").unwrap().parameter_format,
        ParameterFormat::Named
    );
    assert_eq!(
        with("ordered").unwrap_err(),
        "template \"x\": unknown parameter_format \"ORDERED\""
    );
}
