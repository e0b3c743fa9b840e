//! The WhatsApp Cloud API client: `POST {base}/{version}/{phoneNumberId}/messages`
//! with a bearer token, a timeout, and Meta's error body read into a code,
//! title and details.

use std::time::Duration;

use serde_json::Value;

use crate::config::urlencode;

/// The template fields the sync asks Meta for.
const TEMPLATE_FIELDS: &str = "name,language,status,category,parameter_format,components,id";

/// The Graph API client. Its HTTP client (TLS configuration and root
/// certificates) is built on the first call, not at cold start: most
/// invocations (webhook statuses, verification, refused sends) never call
/// WhatsApp. Clones share it.
#[derive(Clone)]
pub struct GraphClient {
    http: std::sync::Arc<std::sync::OnceLock<Result<reqwest::Client, String>>>,
    timeout: Duration,
    base_url: String,
    version: String,
    token: String,
    /// Certificate authorities trusted besides the platform's (PEM).
    extra_roots: Option<Vec<u8>>,
}

/// Why a send did not go out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphError {
    /// Meta answered with an error.
    #[error("WhatsApp refused the message ({code}): {title}")]
    Rejected {
        http_status: u16,
        code: i64,
        title: String,
        details: Option<String>,
    },
    /// The request was (or may have been) written but no usable answer came:
    /// a timeout, a connection broken mid-way, a 2xx without a message id.
    /// WhatsApp may have the message.
    #[error("WhatsApp's answer was lost: {0}")]
    Unknown(String),
    /// The request never left (the connection was refused): nothing was sent.
    #[error("could not reach WhatsApp: {0}")]
    NotSent(String),
}

impl GraphClient {
    pub fn new(
        base_url: &str,
        version: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<Self, crate::config::ConfigError> {
        Ok(GraphClient {
            http: Default::default(),
            timeout,
            base_url: base_url.trim_end_matches('/').to_string(),
            version: version.trim_matches('/').to_string(),
            token: token.to_string(),
            extra_roots: None,
        })
    }

    /// Trusts these certificate authorities (PEM) too, besides the platform's.
    pub fn trusting(mut self, extra_roots: Option<Vec<u8>>) -> Self {
        self.extra_roots = extra_roots;
        self
    }

    /// The HTTP client, built on first use; a client that cannot be built
    /// means nothing was sent.
    fn http(&self) -> Result<&reqwest::Client, GraphError> {
        self.http
            .get_or_init(|| {
                crate::tls::reqwest_builder(self.extra_roots.as_deref())?
                    .timeout(self.timeout)
                    .connect_timeout(Duration::from_secs(3))
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(|e| GraphError::NotSent(e.clone()))
    }

    /// `{base}/{version}/{id}/{edge}`, the id percent-encoded (ids come from
    /// clients and tables; none may change the path).
    fn url(&self, id: &str, edge: &str) -> String {
        format!(
            "{}/{}/{}/{edge}",
            self.base_url,
            self.version,
            urlencode(id)
        )
    }

    pub fn messages_url(&self, phone_number_id: &str) -> String {
        self.url(phone_number_id, "messages")
    }

    /// The phone number ids a WhatsApp Business Account lists, every page.
    pub async fn phone_numbers(&self, waba_id: &str) -> Result<Vec<String>, GraphError> {
        let entries = self
            .paged(
                &self.url(waba_id, "phone_numbers"),
                "id,display_phone_number",
            )
            .await?;
        Ok(entries
            .iter()
            .filter_map(|e| e["id"].as_str().map(String::from))
            .collect())
    }

    /// Sends one message body; returns its `wamid`.
    pub async fn send(&self, phone_number_id: &str, body: &Value) -> Result<String, GraphError> {
        let req = self
            .http()?
            .post(self.messages_url(phone_number_id))
            .header("content-type", "application/json")
            .body(body.to_string());
        let (status, json) = self.call(req).await?;
        json["messages"][0]["id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| {
                GraphError::Unknown(format!("WhatsApp answered {status} without a message id"))
            })
    }

    /// Every message template of a WhatsApp Business Account (Meta's
    /// `message_templates` entries), following the `after` cursor page by page.
    pub async fn message_templates(&self, waba_id: &str) -> Result<Vec<Value>, GraphError> {
        self.paged(&self.url(waba_id, "message_templates"), TEMPLATE_FIELDS)
            .await
    }

    /// Every entry of a Graph list, following the `after` cursor page by page.
    async fn paged(&self, url: &str, fields: &str) -> Result<Vec<Value>, GraphError> {
        const MAX_PAGES: usize = 50;
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page = format!("{url}?limit=100&fields={}", urlencode(fields));
            if let Some(a) = &after {
                page.push_str(&format!("&after={}", urlencode(a)));
            }
            let (_, json) = self.call(self.http()?.get(&page)).await?;
            out.extend(json["data"].as_array().cloned().unwrap_or_default());
            after = json["paging"]["cursors"]["after"]
                .as_str()
                .map(String::from);
            if json["paging"]["next"].is_null() || after.is_none() {
                return Ok(out);
            }
        }
        Ok(out)
    }

    /// One authorized request; Meta's error body becomes a [`GraphError`].
    async fn call(&self, req: reqwest::RequestBuilder) -> Result<(u16, Value), GraphError> {
        let transport = |e: reqwest::Error| {
            if e.is_connect() {
                GraphError::NotSent(e.to_string())
            } else {
                GraphError::Unknown(e.to_string())
            }
        };
        let res = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(transport)?;
        let status = res.status().as_u16();
        let text = res.text().await.map_err(transport)?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            Ok((status, json))
        } else {
            Err(parse_error(status, &json))
        }
    }
}

/// Reads Meta's `{"error": {"message", "type", "code", "error_data": {"details"}, ...}}`.
pub fn parse_error(http_status: u16, body: &Value) -> GraphError {
    let e = &body["error"];
    let code = e["code"].as_i64().unwrap_or(0);
    let title = e["error_user_title"]
        .as_str()
        .or_else(|| e["title"].as_str())
        .or_else(|| e["message"].as_str())
        .unwrap_or("unknown error")
        .to_string();
    let details = e["error_data"]["details"]
        .as_str()
        .or_else(|| e["error_user_msg"].as_str())
        .map(String::from);
    GraphError::Rejected {
        http_status,
        code,
        title,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metas_error_body_is_read() {
        let e = parse_error(
            400,
            &json!({"error": {"message": "(#132001) Template name does not exist in the translation", "type": "OAuthException",
                "code": 132001, "error_data": {"messaging_product": "whatsapp", "details": "template name (x) does not exist in pt_BR"},
                "fbtrace_id": "A"}}),
        );
        assert_eq!(
            e,
            GraphError::Rejected {
                http_status: 400,
                code: 132001,
                title: "(#132001) Template name does not exist in the translation".into(),
                details: Some("template name (x) does not exist in pt_BR".into())
            }
        );
    }

    #[test]
    fn the_url_has_version_and_number() {
        let c =
            GraphClient::new("http://127.0.0.1:1/", "v21.0", "t", Duration::from_secs(1)).unwrap();
        assert_eq!(
            c.messages_url("123"),
            "http://127.0.0.1:1/v21.0/123/messages"
        );
        assert_eq!(
            c.messages_url("../me/accounts"),
            "http://127.0.0.1:1/v21.0/..%2Fme%2Faccounts/messages",
            "an id never changes the path"
        );
    }
}
