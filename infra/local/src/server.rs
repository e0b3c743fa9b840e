//! A minimal HTTP/1 server on loopback, shared by the local gateway and the
//! WhatsApp sandbox.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A request as plain data.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub raw_query: String,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query string decoded into pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn json(status: u16, v: &serde_json::Value) -> Self {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: v.to_string().into_bytes(),
        }
    }
}

/// Decodes `%XX` and `+` in a query component (invalid escapes stay as they are).
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The answer to a body over the limit, in API Gateway's shape (`message`)
/// and the project's (`error`).
pub fn payload_too_large() -> HttpResponse {
    let message = "Request Entity Too Large";
    HttpResponse::json(
        413,
        &serde_json::json!({"message": message, "error": {"code": "payload_too_large", "message": message}}),
    )
}

/// A request's body, read up to `max` bytes: `None` as soon as it is longer
/// (what was read so far is dropped; the rest is never buffered).
async fn read_body(body: Incoming, max: usize) -> Option<Vec<u8>> {
    match Limited::new(body, max).collect().await {
        Ok(b) => Some(b.to_bytes().to_vec()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => None,
        // A connection broken mid-body: the handler sees what a client sent, nothing.
        Err(_) => Some(Vec::new()),
    }
}

/// Serves until the listener fails; every connection on its own task. A body
/// longer than `max_body` is refused with 413 before the handler sees it.
pub async fn serve<F, Fut>(listener: TcpListener, max_body: usize, handler: F)
where
    F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HttpResponse> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let handler = handler.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let res = match read_body(body, max_body).await {
                        None => payload_too_large(),
                        Some(body) => {
                            handler(HttpRequest {
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_string(),
                                raw_query: parts.uri.query().unwrap_or("").to_string(),
                                headers: afterhours_adapters::http::header_pairs(&parts.headers)
                                    .collect(),
                                body,
                            })
                            .await
                        }
                    };
                    let mut builder = Response::builder().status(res.status);
                    for (k, v) in &res.headers {
                        builder = builder.header(k.as_str(), v.as_str());
                    }
                    let response = builder
                        .body(Full::new(Bytes::from(res.body)))
                        .unwrap_or_else(|_| {
                            Response::new(Full::new(Bytes::from_static(b"bad response")))
                        });
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_decoded() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("x%2"), "x%2");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("n%2Fa"), "n/a");
    }
}
