//! The WhatsApp sandbox: answers `POST /{version}/{phoneNumberId}/messages`
//! like the Graph API (bearer token, JSON shape, `wamid`s, Meta's error body),
//! keeps what was sent, and can be told to fail a recipient with a Meta code.
//!
//! Extra routes: `GET /_sandbox/messages` lists what was sent;
//! `POST /_sandbox/failures {"to": "...", "code": 131047}` makes sends to `to`
//! fail; `DELETE /_sandbox/failures` clears that;
//! `POST /_sandbox/latency {"ms": 300}` makes every answer take that long;
//! `POST /_sandbox/late {"count": 1, "ms": 20000}` accepts the next `count`
//! messages and answers each only after `ms` (past the caller's timeout, the
//! answer is lost: the message was sent all the same).
//! `GET /{version}/{wabaId}/message_templates` lists, in pages with `after`
//! cursors, what `POST /_sandbox/templates {"wabaId": "...", "data": [...]}` set;
//! `GET /{version}/{wabaId}/phone_numbers` lists what
//! `POST /_sandbox/phone_numbers {"wabaId": "...", "ids": ["..."]}` set.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use crate::server::{HttpRequest, HttpResponse};

pub struct Sandbox {
    token: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sent: Vec<Value>,
    failures: HashMap<String, i64>,
    next: u64,
    /// Meta's `message_templates` entries per WhatsApp Business Account.
    templates: HashMap<String, Vec<Value>>,
    /// The phone number ids each WhatsApp Business Account lists.
    numbers: HashMap<String, Vec<String>>,
    /// The largest template page served (Meta pages too); 0 = as asked.
    template_page: usize,
    /// How long every answer to a send takes.
    latency: Duration,
    /// How many of the next accepted messages are answered late, and how late.
    late: (usize, Duration),
    /// Sends being answered right now, and the most there ever were at once.
    in_flight: usize,
    max_in_flight: usize,
}

/// Missing, not text, or empty.
fn blank(v: &Value) -> bool {
    v.as_str().is_none_or(str::is_empty)
}

/// What Meta would refuse in a send request (documented limits).
pub fn shape_problems(b: &Value) -> Vec<String> {
    let mut p = Vec::new();
    if b["messaging_product"] != "whatsapp" {
        p.push("messaging_product must be whatsapp".to_string());
    }
    if blank(&b["to"]) {
        p.push("to is required".into());
    }
    match b["type"].as_str() {
        Some("interactive") => interactive_problems(&b["interactive"], &mut p),
        Some("template") => template_problems(&b["template"], &mut p),
        Some("text") => {
            if blank(&b["text"]["body"]) {
                p.push("text.body is required".into());
            }
        }
        other => p.push(format!("type {other:?} is not supported here")),
    }
    p
}

/// Meta's limits for reply buttons: body ≤ 1024, 1 to 3 buttons, titles ≤ 20, unique ids ≤ 256.
fn interactive_problems(i: &Value, p: &mut Vec<String>) {
    if i["type"] != "button" {
        p.push("interactive.type must be button".into());
    }
    let body = i["body"]["text"].as_str().unwrap_or("");
    if body.is_empty() || body.chars().count() > 1024 {
        p.push("interactive.body.text must be 1 to 1024 characters".into());
    }
    let buttons = i["action"]["buttons"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !(1..=3).contains(&buttons.len()) {
        p.push("1 to 3 buttons".into());
    }
    let mut ids = Vec::new();
    for x in &buttons {
        let (id, title) = (
            x["reply"]["id"].as_str().unwrap_or(""),
            x["reply"]["title"].as_str().unwrap_or(""),
        );
        if x["type"] != "reply" || id.is_empty() || title.is_empty() {
            p.push("a button needs type reply, reply.id and reply.title".into());
        } else if title.chars().count() > 20 || id.len() > 256 {
            p.push(format!(
                "button title over 20 characters or id over 256: {title:?}"
            ));
        }
        ids.push(id.to_string());
    }
    ids.sort();
    ids.dedup();
    if ids.len() != buttons.len() {
        p.push("button ids must be unique".into());
    }
}

/// A template send: name, language, known component types, clean text parameters.
fn template_problems(t: &Value, p: &mut Vec<String>) {
    if blank(&t["name"]) || blank(&t["language"]["code"]) {
        p.push("template.name and template.language.code are required".into());
    }
    for c in t["components"].as_array().into_iter().flatten() {
        if !matches!(c["type"].as_str(), Some("header" | "body" | "button")) {
            p.push(format!("component type {}", c["type"]));
        }
        for x in c["parameters"].as_array().into_iter().flatten() {
            if let Some(kind @ ("image" | "video" | "document")) = x["type"].as_str() {
                media_problems(c, kind, &x[kind], p);
            }
            if x["type"] == "text" {
                let text = x["text"].as_str().unwrap_or("");
                if text.trim().is_empty() {
                    p.push("empty text parameter".into());
                }
                if text.contains('\n') || text.contains('\t') || text.contains("     ") {
                    p.push("text parameter with a newline, a tab or 5 spaces".into());
                }
            }
        }
    }
}

/// A media parameter: only in the header, with an https link (a filename only for documents).
fn media_problems(component: &Value, kind: &str, media: &Value, p: &mut Vec<String>) {
    if component["type"] != "header" {
        p.push(format!("{kind} parameter outside the header"));
    }
    let link = media["link"].as_str().unwrap_or("");
    if !link.starts_with("https://") || link.len() <= "https://".len() {
        p.push(format!("{kind}.link must be an https URL"));
    }
    if !media["filename"].is_null() && kind != "document" {
        p.push(format!("{kind}.filename is only for documents"));
    }
}

fn meta_error(status: u16, code: i64, message: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": message}, "fbtrace_id": "SANDBOX"}}),
    )
}

impl Sandbox {
    pub fn new(token: &str) -> Self {
        Sandbox {
            token: token.to_string(),
            state: Mutex::new(State::default()),
        }
    }

    /// Everything sent so far.
    pub fn sent(&self) -> Vec<Value> {
        self.state
            .lock()
            .map(|s| s.sent.clone())
            .unwrap_or_default()
    }

    /// Makes sends to `to` fail with Meta's `code` (or stop failing with `None`).
    pub fn fail(&self, to: &str, code: Option<i64>) {
        if let Ok(mut s) = self.state.lock() {
            match code {
                Some(c) => s.failures.insert(to.to_string(), c),
                None => s.failures.remove(to),
            };
        }
    }

    /// Makes every answer to a send take `latency` (Lambda to Meta is often hundreds of ms).
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.latency = latency;
        }
    }

    /// Accepts the next `count` messages but answers each only after `delay`.
    pub fn answer_late(&self, count: usize, delay: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.late = (count, delay);
        }
    }

    fn count_in_flight(&self, delta: isize) {
        if let Ok(mut s) = self.state.lock() {
            s.in_flight = s.in_flight.saturating_add_signed(delta);
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
        }
    }

    /// The most sends that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.lock().map(|s| s.max_in_flight).unwrap_or(0)
    }

    /// How long to wait before answering a send that got `status`.
    fn delay_for(&self, status: u16) -> Duration {
        let Ok(mut s) = self.state.lock() else {
            return Duration::ZERO;
        };
        let mut d = s.latency;
        if status == 200 && s.late.0 > 0 {
            s.late.0 -= 1;
            d += s.late.1;
        }
        d
    }

    /// `{"ms": N}` (and `{"count": N}`) of a control request.
    fn control(&self, req: &HttpRequest) -> Option<(usize, Duration)> {
        let v: Value = serde_json::from_slice(&req.body).ok()?;
        let ms = v["ms"].as_u64()?;
        let count = v["count"].as_u64().unwrap_or(1) as usize;
        Some((count, Duration::from_millis(ms)))
    }

    pub async fn handle(&self, req: HttpRequest) -> HttpResponse {
        let parts: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        match (req.method.as_str(), parts.as_slice()) {
            (_, ["_sandbox", what]) => self.steer(&req, what),
            ("GET", [version, waba, "phone_numbers"]) if version.starts_with('v') => {
                self.phone_numbers(&req, waba)
            }
            ("GET", [version, waba, "message_templates"]) if version.starts_with('v') => {
                self.templates(&req, waba)
            }
            ("POST", [version, pnid, "messages"]) if version.starts_with('v') => {
                self.count_in_flight(1);
                let res = self.messages(&req, pnid);
                let delay = self.delay_for(res.status);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                self.count_in_flight(-1);
                res
            }
            _ => meta_error(404, 803, "Unknown path components"),
        }
    }

    /// The `/_sandbox/*` routes that steer the sandbox (see the module's doc).
    fn steer(&self, req: &HttpRequest, what: &str) -> HttpResponse {
        let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let bad =
            |usage: &str| HttpResponse::json(400, &json!({ "error": format!("send {usage}") }));
        match (req.method.as_str(), what) {
            ("GET", "messages") => HttpResponse::json(200, &json!({"data": self.sent()})),
            ("POST", "failures") => match (v["to"].as_str(), v["code"].as_i64()) {
                (Some(to), Some(code)) => {
                    self.fail(to, Some(code));
                    HttpResponse::json(200, &json!({"to": to, "code": code}))
                }
                _ => bad(r#"{"to": "...", "code": 131047}"#),
            },
            ("DELETE", "failures") => {
                if let Ok(mut s) = self.state.lock() {
                    s.failures.clear();
                }
                HttpResponse::json(200, &json!({"cleared": true}))
            }
            ("POST", "templates") => match (v["wabaId"].as_str(), v["data"].as_array()) {
                (Some(waba), Some(data)) => {
                    self.set_templates(waba, data.clone());
                    HttpResponse::json(200, &json!({"wabaId": waba, "templates": data.len()}))
                }
                _ => bad(r#"{"wabaId": "...", "data": [...]}"#),
            },
            ("POST", "phone_numbers") => match (v["wabaId"].as_str(), v["ids"].as_array()) {
                (Some(waba), Some(ids)) => {
                    let ids: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
                    self.set_phone_numbers(waba, &ids);
                    HttpResponse::json(200, &json!({"wabaId": waba, "ids": ids}))
                }
                _ => bad(r#"{"wabaId": "...", "ids": ["..."]}"#),
            },
            ("POST", "latency") => match self.control(req) {
                Some((_, d)) => {
                    self.set_latency(d);
                    HttpResponse::json(200, &json!({"latencyMs": d.as_millis() as u64}))
                }
                None => bad(r#"{"ms": 300}"#),
            },
            ("POST", "late") => match self.control(req) {
                Some((count, d)) => {
                    self.answer_late(count, d);
                    HttpResponse::json(
                        200,
                        &json!({"count": count, "lateByMs": d.as_millis() as u64}),
                    )
                }
                None => bad(r#"{"count": 1, "ms": 20000}"#),
            },
            _ => meta_error(404, 803, "Unknown path components"),
        }
    }

    /// Sets the templates `GET .../message_templates` lists for an account.
    pub fn set_templates(&self, waba_id: &str, data: Vec<Value>) {
        if let Ok(mut s) = self.state.lock() {
            s.templates.insert(waba_id.to_string(), data);
        }
    }

    /// Makes an account list these phone number ids (Meta: `GET /{wabaId}/phone_numbers`).
    pub fn set_phone_numbers(&self, waba_id: &str, ids: &[&str]) {
        if let Ok(mut s) = self.state.lock() {
            s.numbers.insert(
                waba_id.to_string(),
                ids.iter().map(|i| i.to_string()).collect(),
            );
        }
    }

    fn phone_numbers(&self, req: &HttpRequest, waba: &str) -> HttpResponse {
        if let Some(refusal) = self.unauthorized(req) {
            return refusal;
        }
        let ids = self
            .state
            .lock()
            .ok()
            .and_then(|s| s.numbers.get(waba).cloned());
        match ids {
            Some(ids) => HttpResponse::json(
                200,
                &json!({"data": ids.iter().map(|id| json!({"id": id, "display_phone_number": id,
                    "verified_name": "Sandbox", "quality_rating": "GREEN"})).collect::<Vec<_>>()}),
            ),
            None => meta_error(
                400,
                100,
                &format!("Unsupported get request. Object with ID '{waba}' does not exist"),
            ),
        }
    }

    /// Serves template lists in pages of at most `n` (to exercise paging).
    pub fn set_template_page_size(&self, n: usize) {
        if let Ok(mut s) = self.state.lock() {
            s.template_page = n;
        }
    }

    /// Meta's refusal of a missing or wrong bearer token, if any.
    fn unauthorized(&self, req: &HttpRequest) -> Option<HttpResponse> {
        let auth = req.header("authorization").unwrap_or("");
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return Some(meta_error(
                401,
                190,
                "An access token is required to request this resource.",
            ));
        };
        (!self.token.is_empty() && token != self.token).then(|| {
            meta_error(
                401,
                190,
                "Invalid OAuth access token - Cannot parse access token",
            )
        })
    }

    fn templates(&self, req: &HttpRequest, waba: &str) -> HttpResponse {
        if let Some(refusal) = self.unauthorized(req) {
            return refusal;
        }
        let q: HashMap<String, String> = req.query_pairs().into_iter().collect();
        let limit = q
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(25)
            .clamp(1, 100);
        let start = q
            .get("after")
            .and_then(|a| a.parse::<usize>().ok())
            .unwrap_or(0);
        let Ok(s) = self.state.lock() else {
            return meta_error(500, 1, "sandbox state poisoned");
        };
        let limit = if s.template_page > 0 {
            limit.min(s.template_page)
        } else {
            limit
        };
        let Some(all) = s.templates.get(waba) else {
            return meta_error(
                400,
                100,
                &format!("Unsupported get request. Object with ID '{waba}' does not exist"),
            );
        };
        let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
        let end = start + page.len();
        let mut body = json!({"data": page, "paging": {"cursors": {"before": start.to_string(), "after": end.to_string()}}});
        if end < all.len() {
            body["paging"]["next"] = json!(format!("{}?limit={limit}&after={end}", req.path));
        }
        HttpResponse::json(200, &body)
    }

    fn messages(&self, req: &HttpRequest, pnid: &str) -> HttpResponse {
        if let Some(refusal) = self.unauthorized(req) {
            return refusal;
        }
        let body: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => return meta_error(400, 100, "The request body is not JSON."),
        };
        let problems = shape_problems(&body);
        let Ok(mut s) = self.state.lock() else {
            return meta_error(500, 1, "sandbox state poisoned");
        };
        s.next += 1;
        let wamid = format!("wamid.SANDBOX{:012}", s.next);
        let to = body["to"].as_str().unwrap_or("").to_string();
        s.sent.push(
            json!({"phoneNumberId": pnid, "wamid": wamid, "body": body, "problems": problems}),
        );
        if !problems.is_empty() {
            return meta_error(
                400,
                100,
                &format!("(#100) Invalid parameter: {}", problems.join("; ")),
            );
        }
        if let Some(code) = s.failures.get(&to) {
            return meta_error(
                400,
                *code,
                &format!("(#{code}) sandbox failure for this recipient"),
            );
        }
        HttpResponse::json(
            200,
            &json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": wamid, "message_status": "accepted"}]}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_headers_need_an_https_link() {
        let with = |param: Value| {
            json!({"messaging_product": "whatsapp", "to": "1", "type": "template",
                "template": {"name": "x", "language": {"code": "pt_BR"},
                "components": [{"type": "header", "parameters": [param]}]}})
        };
        assert!(shape_problems(&with(
            json!({"type": "image", "image": {"link": "https://a.b/c.png"}})
        ))
        .is_empty());
        assert!(!shape_problems(&with(
            json!({"type": "image", "image": {"link": "http://a.b/c.png"}})
        ))
        .is_empty());
        assert!(!shape_problems(&with(
            json!({"type": "video", "video": {"link": "https://a.b/c", "filename": "x"}})
        ))
        .is_empty());
        assert!(shape_problems(&with(
            json!({"type": "document", "document": {"link": "https://a.b/c", "filename": "x.pdf"}})
        ))
        .is_empty());
    }

    #[test]
    fn prompts_and_templates_of_the_right_shape_pass() {
        let texts = afterhours_rules::prompt::PromptTexts::defaults("pt_BR");
        let m = afterhours_rules::prompt::prompt_message("5511", "Olá", &texts);
        assert!(shape_problems(&m).is_empty());
        let t = json!({"messaging_product": "whatsapp", "to": "1", "type": "template",
            "template": {"name": "x", "language": {"code": "pt_BR"}, "components": [{"type": "body", "parameters": [{"type": "text", "text": "a\tb"}]}]}});
        assert_eq!(
            shape_problems(&t),
            ["text parameter with a newline, a tab or 5 spaces"]
        );
        assert!(!shape_problems(&json!({"type": "video"})).is_empty());
    }
}
