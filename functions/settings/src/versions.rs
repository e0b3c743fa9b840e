//! Settings versions on the wire: `ETag` out, `If-Match` in, and RFC 7386
//! JSON merge patches (`PATCH /settings`).

use afterhours_adapters::http::{ApiError, ApiRequest};
use serde_json::Value;

/// The strong entity tag of a settings version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The version `If-Match` names: `None` when absent or `*` (any version);
/// a tag that is not one of ours can never match, so it is a 412.
pub fn if_match(req: &ApiRequest) -> Result<Option<u64>, ApiError> {
    let Some(raw) = req.header("if-match").map(str::trim) else {
        return Ok(None);
    };
    if raw == "*" {
        return Ok(None);
    }
    raw.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<u64>()
        .map(Some)
        .map_err(|_| {
            ApiError::PreconditionFailed(
                "If-Match is not a version of these settings; read them again (GET /settings) and use its ETag."
                    .into(),
            )
        })
}

/// Applies a JSON merge patch (RFC 7386): objects merge key by key, `null`
/// removes a key, anything else replaces the target.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    if let Value::Object(t) = target {
        for (k, v) in changes {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        // The examples of RFC 7386 §3, and one nested change.
        for (target, patch, result) in [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
            (
                json!({"activeMessageLimit": {"enabled": false, "maxPerContactPer24h": 2}, "language": "pt_BR"}),
                json!({"activeMessageLimit": {"enabled": true}}),
                json!({"activeMessageLimit": {"enabled": true, "maxPerContactPer24h": 2}, "language": "pt_BR"}),
            ),
        ] {
            let mut t = target.clone();
            merge_patch(&mut t, &patch);
            assert_eq!(t, result, "{target} + {patch}");
        }
    }

    #[test]
    fn if_match_reads_our_tags_and_refuses_others() {
        let with = |v: Option<&str>| {
            let mut r = ApiRequest::default();
            if let Some(v) = v {
                r.headers.insert("if-match".into(), v.into());
            }
            if_match(&r)
        };
        assert_eq!(with(None).unwrap(), None);
        assert_eq!(with(Some("*")).unwrap(), None);
        assert_eq!(with(Some(&etag(7))).unwrap(), Some(7));
        assert_eq!(with(Some("W/\"3\"")).unwrap(), Some(3));
        assert_eq!(with(Some("\"abc\"")).unwrap_err().status(), 412);
    }
}
