//! Media headers of templates (IMAGE, VIDEO, DOCUMENT): what a template's
//! header needs, the `header` a send supplies for it, and the Graph API
//! header parameter built from it.

use serde::Serialize;
use serde_json::{json, Value};

use crate::VariableError;

/// The media a template's header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaKind {
    Image,
    Video,
    Document,
}

/// The longest media link accepted.
pub const MAX_LINK_CHARS: usize = 2000;
/// The longest document file name accepted.
pub const MAX_FILENAME_CHARS: usize = 240;

impl MediaKind {
    /// A HEADER component's `format`, when it is media.
    pub fn from_format(format: &str) -> Option<MediaKind> {
        match format.to_ascii_uppercase().as_str() {
            "IMAGE" => Some(MediaKind::Image),
            "VIDEO" => Some(MediaKind::Video),
            "DOCUMENT" => Some(MediaKind::Document),
            _ => None,
        }
    }

    /// The parameter type Meta uses (`image`, `video`, `document`).
    pub fn as_type(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
        }
    }
}

fn problem(problem: &'static str, message: String) -> VariableError {
    VariableError {
        variable: "header".into(),
        problem,
        message,
    }
}

/// An `https://` URL with a host, no spaces, of a sane length.
fn is_https_link(link: &str) -> bool {
    let Some(rest) = link.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty()
        && link.chars().count() <= MAX_LINK_CHARS
        && !link.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks the send's `header` against what the template needs and returns
/// the Graph API header component (`None` when the template has no media).
pub fn header_component(
    needs: Option<MediaKind>,
    supplied: Option<&Value>,
) -> Result<Option<Value>, VariableError> {
    let supplied = supplied.filter(|v| !v.is_null());
    let (kind, header) = match (needs, supplied) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(problem(
                "unknown",
                "this template's header takes no media; leave header out".into(),
            ))
        }
        (Some(k), None) => {
            let article = if k == MediaKind::Image { "an" } else { "a" };
            return Err(problem(
                "missing",
                format!(
                    "this template's header needs {article} {}: give header.link (https)",
                    k.as_type()
                ),
            ));
        }
        (Some(k), Some(h)) => (k, h),
    };
    let named = header.get("type").and_then(Value::as_str).unwrap_or("");
    if !named.eq_ignore_ascii_case(kind.as_type()) {
        return Err(problem(
            "wrong_type",
            format!("header.type must be {:?} for this template", kind.as_type()),
        ));
    }
    let link = header
        .get("link")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    if !is_https_link(link) {
        return Err(problem(
            "not_https",
            "header.link must be an https:// address of the media".into(),
        ));
    }
    let mut media = json!({ "link": link });
    if let Some(name) = file_name(kind, header.get("filename"))? {
        media["filename"] = json!(name);
    }
    let t = kind.as_type();
    Ok(Some(json!({
        "type": "header",
        "parameters": [{ "type": t, t: media }],
    })))
}

/// A document's optional file name (refused for other media, or when blank or long).
fn file_name(kind: MediaKind, value: Option<&Value>) -> Result<Option<String>, VariableError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(f))
            if kind == MediaKind::Document
                && !f.trim().is_empty()
                && f.chars().count() <= MAX_FILENAME_CHARS
                && !f.chars().any(char::is_control) =>
        {
            Ok(Some(f.trim().to_string()))
        }
        Some(_) => Err(problem(
            "filename",
            format!(
                "header.filename is only for documents, as text of 1 to {MAX_FILENAME_CHARS} characters"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_headers_format_names_its_media_in_any_case() {
        for (format, kind) in [
            ("IMAGE", Some(MediaKind::Image)),
            ("video", Some(MediaKind::Video)),
            ("Document", Some(MediaKind::Document)),
            ("TEXT", None),
            ("LOCATION", None),
        ] {
            assert_eq!(MediaKind::from_format(format), kind, "{format}");
        }
    }

    #[test]
    fn an_image_header_is_asked_for_with_an_and_the_others_with_a() {
        let missing = |k| header_component(Some(k), None).unwrap_err().message;
        assert!(missing(MediaKind::Image).contains("needs an image"));
        assert!(missing(MediaKind::Video).contains("needs a video"));
        assert!(missing(MediaKind::Document).contains("needs a document"));
    }

    #[test]
    fn a_media_header_becomes_metas_parameter() {
        let img = header_component(
            Some(MediaKind::Image),
            Some(&json!({"type": "image", "link": "https://cdn.example.com/a.png"})),
        )
        .unwrap();
        assert_eq!(
            img,
            Some(json!({"type": "header", "parameters": [
                {"type": "image", "image": {"link": "https://cdn.example.com/a.png"}}]}))
        );
        let doc = header_component(
            Some(MediaKind::Document),
            Some(&json!({"type": "document", "link": "https://x.example/f.pdf", "filename": "Pedido 42.pdf"})),
        )
        .unwrap();
        assert_eq!(
            doc.unwrap()["parameters"][0]["document"],
            json!({"link": "https://x.example/f.pdf", "filename": "Pedido 42.pdf"})
        );
        assert_eq!(header_component(None, None).unwrap(), None);
        assert_eq!(header_component(None, Some(&Value::Null)).unwrap(), None);
    }

    #[test]
    fn a_wrong_header_is_refused_with_its_problem() {
        let v = Some(MediaKind::Video);
        for (header, why) in [
            (None, "missing"),
            (
                Some(json!({"type": "image", "link": "https://a.b/c"})),
                "wrong_type",
            ),
            (
                Some(json!({"type": "video", "link": "http://a.b/c.mp4"})),
                "not_https",
            ),
            (
                Some(json!({"type": "video", "link": "https://"})),
                "not_https",
            ),
            (
                Some(json!({"type": "video", "link": "https://a.b/c d"})),
                "not_https",
            ),
            (Some(json!({"type": "video"})), "not_https"),
            (
                Some(json!({"type": "video", "link": "https://a.b/c", "filename": "x"})),
                "filename",
            ),
            (Some(json!("https://a.b/c")), "wrong_type"),
        ] {
            let e = header_component(v, header.as_ref()).unwrap_err();
            assert_eq!(
                (e.variable.as_str(), e.problem),
                ("header", why),
                "{header:?}"
            );
        }
        let e = header_component(None, Some(&json!({"type": "image", "link": "https://a.b"})))
            .unwrap_err();
        assert_eq!(e.problem, "unknown");
    }
}
