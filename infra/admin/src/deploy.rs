//! What `make deploy` derives from the stack's outputs: the desk's
//! `config.json` and the list of files to upload, with their content types
//! and caching (the page's code may be cached; `index.html` and
//! `config.json` must not be, so a new deploy is seen at once).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::outcome::AdminError;

/// One output of `aws cloudformation describe-stacks`.
#[derive(Debug, Deserialize)]
struct Output {
    #[serde(rename = "OutputKey")]
    key: String,
    #[serde(rename = "OutputValue")]
    value: String,
}

/// The stack's outputs by name.
pub fn read_outputs(text: &str) -> Result<BTreeMap<String, String>, AdminError> {
    let outputs: Vec<Output> = serde_json::from_str(text).map_err(|e| {
        AdminError::Invalid(format!(
            "The stack outputs are not the list `aws cloudformation describe-stacks` prints: {e}."
        ))
    })?;
    Ok(outputs.into_iter().map(|o| (o.key, o.value)).collect())
}

fn output<'a>(outputs: &'a BTreeMap<String, String>, key: &str) -> Result<&'a str, AdminError> {
    outputs
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            AdminError::Invalid(format!(
                "The stack has no {key} output; is it deployed from this template?"
            ))
        })
}

/// The desk's `config.json`: the API, and the Cognito hosted sign-in with the
/// desk's own URL as the redirect.
pub fn desk_config(outputs: &BTreeMap<String, String>) -> Result<Value, AdminError> {
    let desk = output(outputs, "DeskUrl")?;
    let redirect = if desk.ends_with('/') {
        desk.to_string()
    } else {
        format!("{desk}/")
    };
    Ok(json!({
        "apiUrl": output(outputs, "ApiUrl")?.trim_end_matches('/'),
        "signIn": "cognito",
        "cognito": {
            "domain": output(outputs, "HostedUiDomain")?.trim_end_matches('/'),
            "clientId": output(outputs, "UserPoolClientId")?,
            "redirectUri": redirect,
            "scopes": "openid email profile",
        }
    }))
}

/// A file to upload to the desk's bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub path: PathBuf,
    pub key: String,
    pub content_type: &'static str,
    pub cache_control: &'static str,
}

fn content_type(path: &Path) -> Option<&'static str> {
    Some(match path.extension()?.to_str()? {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => return None,
    })
}

/// Every file of the desk (recursively, sorted), `config.json` taken from
/// `config` instead of the local one. A file of a kind the page does not use
/// is an error rather than an upload with a guessed type.
pub fn uploads(desk: &Path, config: &Path) -> Result<Vec<Upload>, AdminError> {
    let mut files = Vec::new();
    walk(desk, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(desk)
            .map_err(|e| AdminError::Failed(e.to_string()))?;
        let key = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let kind = content_type(&path).ok_or_else(|| {
            AdminError::Invalid(format!(
                "{} is not a kind of file the desk serves (html, css, js, json, svg, png, ico, woff2).",
                path.display()
            ))
        })?;
        let fresh = key == "index.html" || key == "config.json";
        out.push(Upload {
            path: if key == "config.json" {
                config.to_path_buf()
            } else {
                path.clone()
            },
            key,
            content_type: kind,
            cache_control: if fresh {
                "no-cache"
            } else {
                "public, max-age=300"
            },
        });
    }
    if !out.iter().any(|u| u.key == "config.json") {
        out.push(Upload {
            path: config.to_path_buf(),
            key: "config.json".into(),
            content_type: "application/json",
            cache_control: "no-cache",
        });
    }
    Ok(out)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), AdminError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| AdminError::Invalid(format!("Cannot read {}: {e}.", dir.display())))?;
    for entry in entries {
        let path = entry.map_err(|e| AdminError::Failed(e.to_string()))?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Writes `config.json` and returns the upload list as tab-separated lines
/// (`path`, `key`, `content type`, `cache control`) for the deploy script.
pub fn prepare(outputs_file: &Path, desk: &Path, config_out: &Path) -> Result<String, AdminError> {
    let text = std::fs::read_to_string(outputs_file).map_err(|e| {
        AdminError::Invalid(format!("Cannot read {}: {e}.", outputs_file.display()))
    })?;
    let config = desk_config(&read_outputs(&text)?)?;
    let pretty =
        serde_json::to_string_pretty(&config).map_err(|e| AdminError::Failed(e.to_string()))?;
    std::fs::write(config_out, pretty + "\n")
        .map_err(|e| AdminError::Failed(format!("Cannot write {}: {e}.", config_out.display())))?;
    Ok(uploads(desk, config_out)?
        .iter()
        .map(|u| {
            format!(
                "{}\t{}\t{}\t{}",
                u.path.display(),
                u.key,
                u.content_type,
                u.cache_control
            )
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUTS: &str = r#"[
        {"OutputKey": "ApiUrl", "OutputValue": "https://abc.execute-api.eu-west-1.amazonaws.com/"},
        {"OutputKey": "DeskUrl", "OutputValue": "https://d111.cloudfront.net"},
        {"OutputKey": "HostedUiDomain", "OutputValue": "https://acme-desk.auth.eu-west-1.amazoncognito.com"},
        {"OutputKey": "UserPoolClientId", "OutputValue": "5abc"},
        {"OutputKey": "UserPoolId", "OutputValue": "eu-west-1_X"}
    ]"#;

    #[test]
    fn the_desk_config_comes_from_the_stack_outputs() {
        let config = desk_config(&read_outputs(OUTPUTS).unwrap()).unwrap();
        assert_eq!(
            config,
            json!({"apiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com", "signIn": "cognito",
                   "cognito": {"domain": "https://acme-desk.auth.eu-west-1.amazoncognito.com", "clientId": "5abc",
                               "redirectUri": "https://d111.cloudfront.net/", "scopes": "openid email profile"}})
        );
    }

    #[test]
    fn a_missing_output_or_a_bad_list_is_named() {
        let mut outputs = read_outputs(OUTPUTS).unwrap();
        outputs.remove("UserPoolClientId");
        assert_eq!(
            desk_config(&outputs).unwrap_err(),
            AdminError::Invalid(
                "The stack has no UserPoolClientId output; is it deployed from this template?"
                    .into()
            )
        );
        assert!(
            matches!(read_outputs("{}"), Err(AdminError::Invalid(m)) if m.contains("describe-stacks"))
        );
    }

    #[test]
    fn every_desk_file_is_uploaded_with_its_type_and_the_generated_config() {
        let desk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../desk");
        let config = Path::new("/tmp/generated-config.json");
        let list = uploads(&desk, config).unwrap();
        let keys: Vec<&str> = list.iter().map(|u| u.key.as_str()).collect();
        assert!(
            keys.contains(&"index.html")
                && keys.contains(&"js/main.js")
                && keys.contains(&"style.css"),
            "{keys:?}"
        );
        let config_upload = list.iter().find(|u| u.key == "config.json").unwrap();
        assert_eq!(
            (config_upload.path.as_path(), config_upload.cache_control),
            (config, "no-cache")
        );
        assert_eq!(list.iter().filter(|u| u.key == "config.json").count(), 1);
        let main = list.iter().find(|u| u.key == "js/main.js").unwrap();
        assert_eq!(
            (main.content_type, main.cache_control),
            ("text/javascript; charset=utf-8", "public, max-age=300")
        );
        let index = list.iter().find(|u| u.key == "index.html").unwrap();
        assert_eq!(
            (index.content_type, index.cache_control),
            ("text/html; charset=utf-8", "no-cache")
        );
    }

    #[test]
    fn a_file_of_an_unknown_kind_is_refused() {
        let dir = std::env::temp_dir().join(format!("desk-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("js")).unwrap();
        std::fs::write(dir.join("index.html"), "x").unwrap();
        std::fs::write(dir.join("js/notes.txt"), "x").unwrap();
        let err = uploads(&dir, Path::new("c.json")).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(err, AdminError::Invalid(m) if m.contains("notes.txt")));
    }
}
