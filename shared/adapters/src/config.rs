//! Typed configuration, read once at cold start. A missing value fails fast
//! with a message naming the variable. Secrets come from the environment
//! locally, and in AWS from Secrets Manager or SSM Parameter Store through the
//! AWS Parameters and Secrets Lambda Extension (`<NAME>_SECRET_ARN` or
//! `<NAME>_PARAMETER`), so they are never plain environment values there.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A required plain setting.
pub fn required(name: &str) -> Result<String, ConfigError> {
    var(name).ok_or_else(|| ConfigError(format!("{name} is not set")))
}

/// A plain setting with a documented default.
pub fn or_default(name: &str, default: &str) -> String {
    var(name).unwrap_or_else(|| default.to_string())
}

/// Settings every function shares.
#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    pub event_bus: String,
    pub region: String,
    pub graph_base_url: String,
    pub graph_version: String,
    pub graph_timeout: Duration,
    /// Extra trusted certificate authorities (PEM), from the file `EXTRA_CA_BUNDLE`.
    pub extra_roots: Option<Vec<u8>>,
    /// How long a tenant's settings stay cached in one instance
    /// (`RULES_CACHE_SECONDS`; 0 reads them on every request).
    pub rules_cache: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let timeout_ms: u64 = or_default("WHATSAPP_TIMEOUT_MS", "8000")
            .parse()
            .map_err(|_| {
                ConfigError("WHATSAPP_TIMEOUT_MS must be a number of milliseconds".into())
            })?;
        let rules_cache = rules_cache_of(var("RULES_CACHE_SECONDS").as_deref())?;
        Ok(Config {
            table: required("TABLE_NAME")?,
            event_bus: or_default("EVENT_BUS_NAME", "afterhours"),
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            graph_base_url: or_default("WHATSAPP_API_BASE_URL", "https://graph.facebook.com"),
            graph_version: or_default("WHATSAPP_API_VERSION", "v23.0"),
            graph_timeout: Duration::from_millis(timeout_ms),
            extra_roots: match var("EXTRA_CA_BUNDLE") {
                Some(path) => Some(std::fs::read(&path).map_err(|e| {
                    ConfigError(format!("EXTRA_CA_BUNDLE: cannot read {path}: {e}"))
                })?),
                None => None,
            },
            rules_cache,
        })
    }
}

/// How long a tenant's settings stay cached in one Lambda instance, unless
/// `RULES_CACHE_SECONDS` ([`Config::rules_cache`]) says otherwise.
pub const RULES_TTL: Duration = Duration::from_secs(30);

/// The settings cache period `RULES_CACHE_SECONDS` names: whole seconds, or
/// [`RULES_TTL`] when unset.
pub fn rules_cache_of(value: Option<&str>) -> Result<Duration, ConfigError> {
    match value {
        Some(v) => v.parse().map(Duration::from_secs).map_err(|_| {
            ConfigError(format!(
                "RULES_CACHE_SECONDS must be a whole number of seconds, not {v:?}"
            ))
        }),
        None => Ok(RULES_TTL),
    }
}

/// A secret: `<NAME>` in the environment (local), else `<NAME>_SECRET_ARN`
/// (Secrets Manager) or `<NAME>_PARAMETER` (SSM SecureString) through the Lambda extension.
/// One client for every secret a cold start reads from the extension.
fn extension_client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let client = crate::tls::reqwest_client()?;
    Ok(CLIENT.get_or_init(|| client))
}

pub async fn secret(name: &str) -> Result<String, ConfigError> {
    if let Some(v) = var(name) {
        return Ok(v);
    }
    let port = or_default("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773");
    let (path, pick): (String, fn(&serde_json::Value) -> Option<String>) =
        if let Some(arn) = var(&format!("{name}_SECRET_ARN")) {
            (
                format!("/secretsmanager/get?secretId={}", urlencode(&arn)),
                |v| v["SecretString"].as_str().map(String::from),
            )
        } else if let Some(p) = var(&format!("{name}_PARAMETER")) {
            (
                format!(
                    "/systemsmanager/parameters/get?name={}&withDecryption=true",
                    urlencode(&p)
                ),
                |v| v["Parameter"]["Value"].as_str().map(String::from),
            )
        } else {
            return Err(ConfigError(format!(
                "{name} is not set (nor {name}_SECRET_ARN or {name}_PARAMETER)"
            )));
        };
    let token = var("AWS_SESSION_TOKEN").unwrap_or_default();
    let res = extension_client()
        .map_err(|e| ConfigError(format!("{name}: {e}")))?
        .get(format!("http://localhost:{port}{path}"))
        .header("X-Aws-Parameters-Secrets-Token", token)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| ConfigError(format!("{name}: the secrets extension did not answer: {e}")))?;
    let text = res
        .text()
        .await
        .map_err(|e| ConfigError(format!("{name}: unreadable answer: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ConfigError(format!("{name}: unreadable answer: {e}")))?;
    pick(&v).ok_or_else(|| ConfigError(format!("{name}: the secret has no value")))
}

/// Percent-encodes a query or path component: everything but RFC 3986's unreserved characters.
pub fn urlencode(s: &str) -> String {
    const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

/// The AWS SDK's shared configuration, built once per cold start with an
/// explicit region (no metadata probe) and the one TLS stack ([`crate::tls`]).
/// Endpoints follow `AWS_ENDPOINT_URL[_DYNAMODB|_EVENTBRIDGE]`.
pub async fn aws_config(cfg: &Config) -> Result<aws_config::SdkConfig, ConfigError> {
    let http = crate::tls::aws_https_client(cfg.extra_roots.as_deref()).map_err(ConfigError)?;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(cfg.region.clone()))
        .http_client(http);
    // Lambda hands the function its credentials in the environment. Taking
    // them from there directly spares the cold start the default chain, whose
    // providers (IMDS, ECS, SSO...) open an HTTPS connector, loading the
    // platform's root certificates, before anything is sent.
    if var("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    Ok(loader.load().await)
}

/// The AWS SDK clients on [`aws_config`].
pub async fn aws_clients(
    cfg: &Config,
) -> Result<(aws_sdk_dynamodb::Client, aws_sdk_eventbridge::Client), ConfigError> {
    let shared = aws_config(cfg).await?;
    Ok((
        aws_sdk_dynamodb::Client::new(&shared),
        aws_sdk_eventbridge::Client::new(&shared),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_cache_period_is_whole_seconds() {
        assert_eq!(rules_cache_of(None).unwrap(), RULES_TTL);
        assert_eq!(rules_cache_of(Some("0")).unwrap(), Duration::ZERO);
        assert_eq!(rules_cache_of(Some("90")).unwrap(), Duration::from_secs(90));
        for bad in ["-1", "1.5", "soon"] {
            let e = rules_cache_of(Some(bad)).unwrap_err();
            assert!(e.0.contains("RULES_CACHE_SECONDS"), "{bad}: {}", e.0);
        }
    }

    #[test]
    fn arns_are_url_encoded() {
        assert_eq!(urlencode("arn:aws:x/y"), "arn%3Aaws%3Ax%2Fy");
    }
}
