//! WhatsApp message templates: reading Meta's `message_templates` JSON, the
//! variables an agent must fill, their validation, a preview and the Graph
//! API `components` of a send.
//!
//! Variable names: body placeholders keep their own name (`"1"`,
//! `"customer_name"`); header placeholders are prefixed `header.`, URL-button
//! placeholders `button.<index>.` (Meta numbers each component from 1).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::media::MediaKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParameterFormat {
    Positional,
    Named,
}

/// Where a placeholder sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    Header,
    Body,
    Button(usize),
}

impl Slot {
    /// Meta's length limit for a parameter in this slot.
    pub fn max_len(&self) -> usize {
        match self {
            Slot::Header => 60,
            Slot::Body => 1024,
            Slot::Button(_) => 2000,
        }
    }
}

/// One variable the agent fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The key in the request's `variables` object.
    pub key: String,
    /// The placeholder's own name inside its component (`1`, `customer_name`).
    pub placeholder: String,
    pub slot: Slot,
}

/// A template as Meta describes it, with what the desk needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: String,
    pub parameter_format: ParameterFormat,
    pub header: Option<String>,
    /// The media a header of format IMAGE, VIDEO or DOCUMENT needs at send time.
    pub media: Option<MediaKind>,
    pub body: String,
    pub footer: Option<String>,
    /// URL buttons: (index among all buttons, url).
    pub url_buttons: Vec<(usize, String)>,
    /// The components as Meta sent them, for the desk to show.
    pub components: Value,
    pub variables: Vec<Variable>,
}

/// One refused variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariableError {
    pub variable: String,
    pub problem: &'static str,
    pub message: String,
}

/// The placeholders of a text in order of first appearance, each once.
/// Positional ones are digits, named ones lowercase letters, digits and `_`.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        rest = &rest[i + 2..];
        let Some(j) = rest.find("}}") else { break };
        let name = rest[..j].trim();
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
        rest = &rest[j + 2..];
    }
    out
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

impl Template {
    /// Reads one entry of Meta's `message_templates` `data` list.
    pub fn from_meta(v: &Value) -> Result<Template, String> {
        let name = str_field(v, "name")
            .filter(|s| !s.is_empty())
            .ok_or("a template needs a name")?;
        let language = str_field(v, "language")
            .filter(|s| !s.is_empty())
            .ok_or(format!("template {name:?} needs a language"))?;
        let status = str_field(v, "status")
            .unwrap_or("PENDING")
            .to_ascii_uppercase();
        let category = str_field(v, "category")
            .unwrap_or("UTILITY")
            .to_ascii_uppercase();
        let parameter_format = match str_field(v, "parameter_format")
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("NAMED") => ParameterFormat::Named,
            None | Some("POSITIONAL") => ParameterFormat::Positional,
            Some(other) => {
                return Err(format!(
                    "template {name:?}: unknown parameter_format {other:?}"
                ))
            }
        };
        let components = v.get("components").cloned().unwrap_or(Value::Array(vec![]));
        let list = components
            .as_array()
            .ok_or(format!("template {name:?}: components must be a list"))?;
        let ComponentTexts {
            header,
            media,
            body,
            footer,
            url_buttons,
        } = component_texts(list);
        let body = body.ok_or(format!("template {name:?} has no BODY text"))?;
        let mut t = Template {
            name: name.into(),
            language: language.into(),
            status,
            category,
            parameter_format,
            header,
            media,
            body,
            footer,
            url_buttons,
            components,
            variables: vec![],
        };
        t.variables = t.collect_variables();
        Ok(t)
    }

    fn collect_variables(&self) -> Vec<Variable> {
        let sorted = |mut names: Vec<String>| {
            if self.parameter_format == ParameterFormat::Positional {
                names.sort_by_key(|n| n.parse::<u32>().unwrap_or(u32::MAX));
            }
            names
        };
        let mut out = Vec::new();
        if let Some(h) = &self.header {
            for p in sorted(placeholders(h)) {
                out.push(Variable {
                    key: format!("header.{p}"),
                    placeholder: p,
                    slot: Slot::Header,
                });
            }
        }
        for p in sorted(placeholders(&self.body)) {
            out.push(Variable {
                key: p.clone(),
                placeholder: p,
                slot: Slot::Body,
            });
        }
        for (i, url) in &self.url_buttons {
            for p in sorted(placeholders(url)) {
                out.push(Variable {
                    key: format!("button.{i}.{p}"),
                    placeholder: p,
                    slot: Slot::Button(*i),
                });
            }
        }
        out
    }

    pub fn is_approved(&self) -> bool {
        self.status == "APPROVED"
    }

    /// The variable keys the agent must fill, in order.
    pub fn variable_keys(&self) -> Vec<String> {
        self.variables.iter().map(|v| v.key.clone()).collect()
    }

    /// Checks the supplied variables: every one filled, none extra, no newline,
    /// tab or run of more than 4 spaces, within Meta's length. One error per variable.
    pub fn validate_variables(
        &self,
        supplied: &Map<String, Value>,
    ) -> Result<BTreeMap<String, String>, Vec<VariableError>> {
        let mut errors = Vec::new();
        let mut values = BTreeMap::new();
        for v in &self.variables {
            match check_variable(v, supplied.get(&v.key)) {
                Ok(text) => {
                    values.insert(v.key.clone(), text);
                }
                Err(e) => errors.push(e),
            }
        }
        for key in supplied.keys() {
            if !self.variables.iter().any(|v| &v.key == key) {
                errors.push(VariableError {
                    variable: key.clone(),
                    problem: "unknown",
                    message: format!("template {} has no variable {key}", self.name),
                });
            }
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    fn fill(&self, text: &str, slot: &Slot, values: &BTreeMap<String, String>) -> String {
        let mut out = text.to_string();
        for v in self.variables.iter().filter(|v| &v.slot == slot) {
            if let Some(val) = values.get(&v.key) {
                out = out.replace(&format!("{{{{{}}}}}", v.placeholder), val);
            }
        }
        out
    }

    /// The text the customer will read, header, body and footer.
    pub fn preview(&self, values: &BTreeMap<String, String>) -> String {
        let mut parts = Vec::new();
        if let Some(h) = &self.header {
            parts.push(self.fill(h, &Slot::Header, values));
        }
        parts.push(self.fill(&self.body, &Slot::Body, values));
        if let Some(f) = &self.footer {
            parts.push(f.clone());
        }
        parts.join("\n\n")
    }

    /// The Graph API `components` of a template send.
    pub fn send_components(&self, values: &BTreeMap<String, String>) -> Vec<Value> {
        let params = |slot: &Slot| -> Vec<Value> {
            self.variables
                .iter()
                .filter(|v| &v.slot == slot)
                .map(|v| {
                    let text = values.get(&v.key).cloned().unwrap_or_default();
                    match self.parameter_format {
                        ParameterFormat::Named => {
                            json!({"type": "text", "parameter_name": v.placeholder, "text": text})
                        }
                        ParameterFormat::Positional => json!({"type": "text", "text": text}),
                    }
                })
                .collect()
        };
        let mut out = Vec::new();
        let header = params(&Slot::Header);
        if !header.is_empty() {
            out.push(json!({"type": "header", "parameters": header}));
        }
        let body = params(&Slot::Body);
        if !body.is_empty() {
            out.push(json!({"type": "body", "parameters": body}));
        }
        for (i, _) in &self.url_buttons {
            let p = params(&Slot::Button(*i));
            if !p.is_empty() {
                out.push(json!({"type": "button", "sub_type": "url", "index": i.to_string(), "parameters": p}));
            }
        }
        out
    }

    /// The desk's view of a template (`GET /templates`).
    pub fn view(&self) -> Value {
        json!({
            "name": self.name,
            "language": self.language,
            "category": self.category,
            "status": self.status,
            "parameterFormat": self.parameter_format,
            "headerText": self.header,
            "header": self.media.map(|m| json!({"format": m})),
            "body": self.body,
            "footer": self.footer,
            "components": self.components,
            "variables": self.variable_keys(),
        })
    }
}

/// The texts of a template's components that can hold variables.
#[derive(Default)]
struct ComponentTexts {
    header: Option<String>,
    media: Option<MediaKind>,
    body: Option<String>,
    footer: Option<String>,
    url_buttons: Vec<(usize, String)>,
}

fn component_texts(list: &[Value]) -> ComponentTexts {
    let mut t = ComponentTexts::default();
    for c in list {
        match str_field(c, "type").map(str::to_ascii_uppercase).as_deref() {
            Some("HEADER")
                if str_field(c, "format").is_none_or(|f| f.eq_ignore_ascii_case("TEXT")) =>
            {
                t.header = str_field(c, "text").map(String::from);
            }
            Some("HEADER") => t.media = str_field(c, "format").and_then(MediaKind::from_format),
            Some("BODY") => t.body = str_field(c, "text").map(String::from),
            Some("FOOTER") => t.footer = str_field(c, "text").map(String::from),
            Some("BUTTONS") => {
                let buttons = c.get("buttons").and_then(Value::as_array);
                for (i, b) in buttons.into_iter().flatten().enumerate() {
                    let is_url =
                        str_field(b, "type").is_some_and(|t| t.eq_ignore_ascii_case("URL"));
                    if let (true, Some(url)) = (is_url, str_field(b, "url")) {
                        t.url_buttons.push((i, url.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    t
}

/// One variable's value as Meta takes it: text (or a number), not blank, no
/// line break or tab, at most 4 spaces in a row, within the slot's length.
fn check_variable(v: &Variable, value: Option<&Value>) -> Result<String, VariableError> {
    let err = |problem: &'static str, message: String| VariableError {
        variable: v.key.clone(),
        problem,
        message,
    };
    let k = &v.key;
    let text = match value {
        None => return Err(err("missing", format!("variable {k} is required"))),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(err("not_text", format!("variable {k} must be text"))),
    };
    let len = text.chars().count();
    if text.trim().is_empty() {
        Err(err("empty", format!("variable {k} is empty")))
    } else if text.contains('\n') || text.contains('\r') {
        Err(err(
            "newline",
            format!("variable {k} must not contain a line break"),
        ))
    } else if text.contains('\t') {
        Err(err("tab", format!("variable {k} must not contain a tab")))
    } else if text.contains("     ") {
        Err(err(
            "spaces",
            format!("variable {k} must not contain more than 4 spaces in a row"),
        ))
    } else if len > v.slot.max_len() {
        Err(err(
            "too_long",
            format!(
                "variable {k} has {len} characters; the limit is {}",
                v.slot.max_len()
            ),
        ))
    } else {
        Ok(text)
    }
}

/// Reads Meta's `{"data": [...]}` (or a bare list), refusing the whole list on
/// the first bad entry so that a sync never half-applies.
pub fn parse_template_list(v: &Value) -> Result<Vec<Template>, String> {
    let list = match v {
        Value::Array(a) => a,
        Value::Object(o) => o
            .get("data")
            .and_then(Value::as_array)
            .ok_or("expected {\"data\": [...]} with Meta's templates")?,
        _ => return Err("expected {\"data\": [...]} with Meta's templates".into()),
    };
    let mut out: Vec<Template> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let t = Template::from_meta(item).map_err(|e| format!("data[{i}]: {e}"))?;
        if out
            .iter()
            .any(|o| o.name == t.name && o.language == t.language)
        {
            return Err(format!(
                "data[{i}]: template {:?} in {} appears twice",
                t.name, t.language
            ));
        }
        out.push(t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
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
        pending.status = "PENDING".into();
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
        assert_eq!(t.preview(&values), "Pedido #42\n\nOlá Maria, vimos sua mensagem de ontem. Maria, podemos ajudar?\n\nEquipe");
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
}
