//! WhatsApp message templates: reading Meta's `message_templates` JSON, the
//! variables an agent must fill, their validation, a preview and the Graph
//! API `components` of a send.
//!
//! Variable names: body placeholders keep their own name (`"1"`,
//! `"customer_name"`); header placeholders are prefixed `header.`, URL-button
//! placeholders `button.<index>.` (Meta numbers each component from 1).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use crate::media::MediaKind;
pub use crate::VariableError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParameterFormat {
    #[default]
    Positional,
    Named,
}

/// Where Meta's review of a template stands. Only `APPROVED` ones are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateStatus {
    Approved,
    Pending,
    Rejected,
    Paused,
    Disabled,
    InAppeal,
    PendingDeletion,
    Deleted,
    LimitExceeded,
    /// A status Meta added after this code was written, as Meta spells it.
    Other(String),
}

impl TemplateStatus {
    /// Meta's name for it (case ignored when read).
    pub fn from_meta(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "APPROVED" => TemplateStatus::Approved,
            "PENDING" => TemplateStatus::Pending,
            "REJECTED" => TemplateStatus::Rejected,
            "PAUSED" => TemplateStatus::Paused,
            "DISABLED" => TemplateStatus::Disabled,
            "IN_APPEAL" => TemplateStatus::InAppeal,
            "PENDING_DELETION" => TemplateStatus::PendingDeletion,
            "DELETED" => TemplateStatus::Deleted,
            "LIMIT_EXCEEDED" => TemplateStatus::LimitExceeded,
            other => TemplateStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            TemplateStatus::Approved => "APPROVED",
            TemplateStatus::Pending => "PENDING",
            TemplateStatus::Rejected => "REJECTED",
            TemplateStatus::Paused => "PAUSED",
            TemplateStatus::Disabled => "DISABLED",
            TemplateStatus::InAppeal => "IN_APPEAL",
            TemplateStatus::PendingDeletion => "PENDING_DELETION",
            TemplateStatus::Deleted => "DELETED",
            TemplateStatus::LimitExceeded => "LIMIT_EXCEEDED",
            TemplateStatus::Other(s) => s,
        }
    }
}

impl std::fmt::Display for TemplateStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TemplateStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(TemplateStatus::from_meta(&String::deserialize(d)?))
    }
}

/// One entry of Meta's `message_templates` list, as Meta sends it (fields
/// this service does not use are ignored).
#[derive(Debug, Deserialize)]
struct MetaTemplate {
    name: String,
    language: String,
    #[serde(default = "pending")]
    status: TemplateStatus,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    parameter_format: Option<String>,
    #[serde(default)]
    components: Vec<Component>,
}

fn pending() -> TemplateStatus {
    TemplateStatus::Pending
}

/// A component of a template, by its `type`; kinds this service does not
/// read (`CAROUSEL`, `LIMITED_TIME_OFFER`...) are `Other`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum Component {
    #[serde(rename = "HEADER", alias = "header")]
    Header {
        /// `TEXT` (the default), `IMAGE`, `VIDEO`, `DOCUMENT`, `LOCATION`.
        #[serde(default)]
        format: Option<String>,
        #[serde(default)]
        text: Option<String>,
    },
    #[serde(rename = "BODY", alias = "body")]
    Body {
        #[serde(default)]
        text: Option<String>,
    },
    #[serde(rename = "FOOTER", alias = "footer")]
    Footer {
        #[serde(default)]
        text: Option<String>,
    },
    #[serde(rename = "BUTTONS", alias = "buttons")]
    Buttons {
        #[serde(default)]
        buttons: Vec<Button>,
    },
    #[serde(other)]
    Other,
}

/// A button; only URL buttons hold variables.
#[derive(Debug, Deserialize)]
struct Button {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
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
    pub status: TemplateStatus,
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

impl Template {
    /// Reads one entry of Meta's `message_templates` `data` list; what is
    /// wrong is named by its path (`components[1].text: invalid type...`).
    pub fn from_meta(v: &Value) -> Result<Template, String> {
        let meta: MetaTemplate =
            serde_path_to_error::deserialize(v).map_err(|e| match e.path().to_string() {
                p if p == "." => e.inner().to_string(),
                p => format!("{p}: {}", e.inner()),
            })?;
        let name = meta.name;
        if name.is_empty() {
            return Err("a template needs a name".into());
        }
        if meta.language.is_empty() {
            return Err(format!("template {name:?} needs a language"));
        }
        let parameter_format = match meta.parameter_format.map(|f| f.to_ascii_uppercase()) {
            Some(f) if f == "NAMED" => ParameterFormat::Named,
            None => ParameterFormat::Positional,
            Some(f) if f == "POSITIONAL" => ParameterFormat::Positional,
            Some(other) => {
                return Err(format!(
                    "template {name:?}: unknown parameter_format {other:?}"
                ))
            }
        };
        let ComponentTexts {
            header,
            media,
            body,
            footer,
            url_buttons,
        } = component_texts(meta.components);
        let body = body.ok_or(format!("template {name:?} has no BODY text"))?;
        let mut t = Template {
            name,
            language: meta.language,
            status: meta.status,
            category: meta
                .category
                .unwrap_or_else(|| "UTILITY".into())
                .to_ascii_uppercase(),
            parameter_format,
            header,
            media,
            body,
            footer,
            url_buttons,
            // As Meta sent them, for the desk to show.
            components: v.get("components").cloned().unwrap_or(json!([])),
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
        self.status == TemplateStatus::Approved
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
            "status": self.status.as_str(),
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

fn component_texts(list: Vec<Component>) -> ComponentTexts {
    let mut t = ComponentTexts::default();
    for c in list {
        match c {
            Component::Header { format, text } => match format {
                Some(f) if !f.eq_ignore_ascii_case("TEXT") => t.media = MediaKind::from_format(&f),
                _ => t.header = text,
            },
            Component::Body { text } => t.body = text,
            Component::Footer { text } => t.footer = text,
            Component::Buttons { buttons } => {
                for (i, b) in buttons.into_iter().enumerate() {
                    let is_url = b.kind.is_some_and(|k| k.eq_ignore_ascii_case("URL"));
                    if let (true, Some(url)) = (is_url, b.url) {
                        t.url_buttons.push((i, url));
                    }
                }
            }
            Component::Other => {}
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
#[path = "templates_tests.rs"]
mod tests;
