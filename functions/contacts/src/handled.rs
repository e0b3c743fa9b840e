//! `POST`/`DELETE /contacts/{id}/handled`: a contact marked handled without
//! an active message (the agent phoned, or wrote by email), or undone.

use afterhours_adapters::desk::DeskRequest;
use afterhours_adapters::error_code::ErrorCode;
use afterhours_adapters::http::StatusCode;
use afterhours_adapters::http::{ApiError, ApiRequest, ApiResponse};
use afterhours_adapters::view::record_view;

use crate::access::{caller_quota, no_contact, visible_key};
use crate::deps::{tenant_rules, Deps};

/// What `/contacts/{id}/handled` does: mark, or undo the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Handled,
    Undone,
}

/// The longest note a handled mark keeps, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// The optional body of `POST /contacts/{id}/handled`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HandledBody {
    note: Option<String>,
}

/// The note of a mark: none, or trimmed text of at most [`MAX_NOTE_CHARS`].
fn note_of(req: &ApiRequest) -> Result<Option<String>, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: HandledBody = req.body_as(ErrorCode::InvalidRequest)?;
    let note = body
        .note
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    match note {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => Err(ApiError::BadRequest {
            code: ErrorCode::InvalidRequest,
            message: format!(
                "The note has {} characters; at most {MAX_NOTE_CHARS} fit.",
                n.chars().count()
            ),
        }),
        Some(n) if n.chars().any(|c| c.is_control() && c != '\n') => Err(ApiError::BadRequest {
            code: ErrorCode::InvalidRequest,
            message: "The note may not hold control characters other than line breaks.".into(),
        }),
        n => Ok(n),
    }
}

/// `POST`/`DELETE /contacts/{id}/handled`: the same access as a send on the
/// record; idempotent; 200 with the record.
pub(crate) async fn handled(
    deps: &Deps,
    req: &ApiRequest,
    desk: &DeskRequest,
    id: &str,
    mark: Mark,
) -> Result<ApiResponse, ApiError> {
    let caller = &desk.caller;
    let note = match mark {
        Mark::Handled => note_of(req)?,
        Mark::Undone => None,
    };
    let key = visible_key(caller, id)?;
    let now = (deps.clock)();
    let record = match mark {
        Mark::Handled => {
            deps.store
                .mark_handled(&key, &caller.agent, note.as_deref(), now)
                .await?
        }
        Mark::Undone => deps.store.unmark_handled(&key, now).await?,
    }
    .ok_or_else(no_contact)?;
    let quota = caller_quota(deps, desk, &record.key.customer).await?;
    let tz = tenant_rules(deps, desk).await?.tz();
    Ok(ApiResponse::json(
        StatusCode::OK,
        &record_view(&record, tz, desk.lang, quota),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_body(body: &str) -> ApiRequest {
        ApiRequest {
            body: body.as_bytes().to_vec(),
            ..ApiRequest::default()
        }
    }

    #[test]
    fn a_handled_note_is_optional_trimmed_and_bounded() {
        assert_eq!(note_of(&with_body("")).unwrap(), None);
        assert_eq!(note_of(&with_body("{}")).unwrap(), None);
        assert_eq!(note_of(&with_body(r#"{"note": "  "}"#)).unwrap(), None);
        assert_eq!(
            note_of(&with_body(r#"{"note": " phoned at 9 "}"#)).unwrap(),
            Some("phoned at 9".into())
        );
        let longest = format!(r#"{{"note": "{}"}}"#, "é".repeat(MAX_NOTE_CHARS));
        assert_eq!(
            note_of(&with_body(&longest))
                .unwrap()
                .unwrap()
                .chars()
                .count(),
            500
        );
        for bad in [
            format!(r#"{{"note": "{}"}}"#, "a".repeat(MAX_NOTE_CHARS + 1)),
            r#"{"note": 5}"#.to_string(),
            r#"{"notes": "x"}"#.to_string(),
            r#"{"note": "a\u0000b"}"#.to_string(),
        ] {
            let e = note_of(&with_body(&bad)).unwrap_err();
            assert_eq!(
                (e.status().as_u16(), e.code()),
                (400, "invalid_request"),
                "{bad}"
            );
        }
        assert_eq!(note_of(&with_body("{")).unwrap_err().code(), "invalid_json");
    }
}
