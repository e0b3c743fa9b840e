//! The send's request and answer bodies, and the template it names.

use afterhours_adapters::error_code::ErrorCode;
use afterhours_adapters::http::ApiError;
use afterhours_rules::cap::QuotaView;
use afterhours_rules::ids::customer_of;
use afterhours_rules::templates::Template;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The request body as it comes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SendBody {
    pub template: TemplateBody,
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
    /// The media of a template whose header is an image, video or document.
    #[serde(default)]
    pub header: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemplateBody {
    pub name: String,
    pub language: String,
}

/// The request, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    pub template: String,
    pub language: String,
    pub variables: Map<String, Value>,
    pub header: Option<Value>,
}

/// Who a direct send (`POST /active-messages`) goes to, read from its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectTo {
    /// The tenant's channel (phone number id) that sends.
    pub channel: String,
    /// The customer key (the number's digits, or the business-scoped id).
    pub customer: String,
}

/// The answer to a send that went out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    pub message_id: String,
    pub sent_at: String,
    pub quota: Option<QuotaView>,
}

fn invalid_request(message: &str) -> ApiError {
    ApiError::BadRequest {
        code: ErrorCode::InvalidRequest,
        message: message.to_string(),
    }
}

/// Reads the body strictly: a template with a name and language, variables as an object.
pub fn parse_body(body: &Value) -> Result<SendRequest, ApiError> {
    if body.get("template").is_none() {
        return Err(invalid_request(
            "The body needs \"template\": {\"name\", \"language\"}.",
        ));
    }
    if !matches!(
        body.get("variables"),
        None | Some(Value::Null | Value::Object(_))
    ) {
        return Err(invalid_request(
            "variables must be an object of name to text.",
        ));
    }
    if !matches!(
        body.get("header"),
        None | Some(Value::Null | Value::Object(_))
    ) {
        return Err(invalid_request(
            "header must be an object: {\"type\": \"image\", \"link\": \"https://...\"}.",
        ));
    }
    let parsed: SendBody = serde_json::from_value(body.clone()).map_err(|_| {
        invalid_request("template.name and template.language must be non-empty text.")
    })?;
    let TemplateBody { name, language } = parsed.template;
    if name.trim().is_empty() || language.trim().is_empty() {
        return Err(invalid_request(
            "template.name and template.language must be non-empty text.",
        ));
    }
    Ok(SendRequest {
        template: name,
        language,
        variables: parsed.variables.unwrap_or_default(),
        header: parsed.header,
    })
}

/// Reads `channel` and `to` of a direct send: a phone number id, and the
/// customer's number (`+5511...`) or business-scoped id.
pub fn parse_direct(body: &Value) -> Result<DirectTo, ApiError> {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim);
    let channel = text("channel")
        .filter(|c| {
            !c.is_empty()
                && c.len() <= 64
                && c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        })
        .ok_or_else(|| {
            invalid_request("channel must be the phone number id of one of this tenant's numbers.")
        })?;
    let customer = text("to").and_then(customer_of).ok_or_else(|| {
        invalid_request(
            "to must be the customer's number with its country code (+5511999990000) or their business-scoped id.",
        )
    })?;
    Ok(DirectTo {
        channel: channel.to_string(),
        customer,
    })
}

/// The approved template the request names (422 `template_not_approved` otherwise).
pub fn find_template<'a>(
    templates: &'a [Template],
    r: &SendRequest,
) -> Result<&'a Template, ApiError> {
    templates
        .iter()
        .find(|t| t.name == r.template && t.language == r.language && t.is_approved())
        .ok_or_else(|| {
            let status = templates
                .iter()
                .find(|t| t.name == r.template && t.language == r.language)
                .map(|t| t.status.clone());
            let message = match status {
                Some(s) => format!(
                    "Template {} ({}) is {s}, not APPROVED; it cannot be sent.",
                    r.template, r.language
                ),
                None => format!(
                    "Template {} ({}) is not among this tenant's approved templates.",
                    r.template, r.language
                ),
            };
            ApiError::Unprocessable {
                code: ErrorCode::TemplateNotApproved,
                message,
                details: json!({"template": {"name": r.template, "language": r.language}}),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_read_strictly() {
        assert!(parse_body(&json!({"template": {"name": "x", "language": "pt_BR"}})).is_ok());
        for bad in [
            json!({}),
            json!({"template": {"name": ""}}),
            json!({"template": {"name": "x", "language": 3}}),
            json!({"template": {"name": "x", "language": "pt_BR"}, "variables": [1]}),
            json!({"template": {"name": "x", "language": "pt_BR"}, "header": "https://a.b"}),
        ] {
            assert_eq!(
                parse_body(&bad).unwrap_err().code(),
                "invalid_request",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_direct_send_names_a_channel_and_a_customer() {
        let d = parse_direct(&json!({"channel": "1055", "to": "+55 11 99999-0000"})).unwrap();
        assert_eq!(
            d,
            DirectTo {
                channel: "1055".into(),
                customer: "5511999990000".into()
            }
        );
        assert_eq!(
            parse_direct(&json!({"channel": "1055", "to": "BR.abc"}))
                .unwrap()
                .customer,
            "BR.abc"
        );
        for bad in [
            json!({"to": "+5511999990000"}),
            json!({"channel": "../x", "to": "+5511999990000"}),
            json!({"channel": "1055", "to": "12"}),
            json!({"channel": "1055"}),
            json!({"channel": 1055, "to": "+5511999990000"}),
        ] {
            assert_eq!(
                parse_direct(&bad).unwrap_err().code(),
                "invalid_request",
                "{bad}"
            );
        }
    }
}
