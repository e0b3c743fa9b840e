//! The one way the tests call the desk's API: a [`TestApp`] over a fixture,
//! and a [`Session`] of one caller with one method per route, as a desk (or
//! an admin's screen) calls it. Webhooks go through `Fixture::post`.

use std::collections::HashMap;

use afterhours_adapters::cursor::CursorSigner;
use afterhours_adapters::http::{ApiRequest, ApiResponse};
use afterhours_adapters::lambda::fixed_clock;
use afterhours_tests::{api, claims, with_body, with_query};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::webhook::{night, Fixture};

/// The desk's functions over one fixture's store and WhatsApp stand-in.
pub struct TestApp<'d> {
    pub contacts: contacts::Deps,
    pub settings: settings::Deps,
    send: SendDeps<'d>,
    /// The fixture's tenant, the one sessions belong to unless told otherwise.
    pub tenant: String,
}

/// The send function's deps: the app's own, or a test's (its clock, its bus,
/// its WhatsApp), shared by several apps.
enum SendDeps<'d> {
    Own(Box<send::Deps>),
    Borrowed(&'d send::Deps),
}

impl TestApp<'static> {
    /// The functions as the fixture's night sees them: the desk an hour after
    /// the night began, a send the next morning (its bus unused).
    pub fn new(f: &Fixture) -> Self {
        TestApp {
            contacts: contacts::Deps {
                store: f.store.clone(),
                cursors: CursorSigner::new(b"cursor-secret").unwrap(),
                clock: fixed_clock(night() + Duration::hours(1)),
                rules: Default::default(),
                names: contacts::name_cache(),
            },
            settings: settings::Deps::new(f.store.clone(), Some(f.graph.client())),
            send: SendDeps::Own(Box::new(crate::send::deps_for(f))),
            tenant: f.tenant.clone(),
        }
    }

    /// The same, sends made with these deps (their clock, their bus).
    pub fn sending_with(self, send: &send::Deps) -> TestApp<'_> {
        TestApp {
            contacts: self.contacts,
            settings: self.settings,
            send: SendDeps::Borrowed(send),
            tenant: self.tenant,
        }
    }
}

impl<'d> TestApp<'d> {
    fn send_deps(&self) -> &send::Deps {
        match &self.send {
            SendDeps::Own(d) => d,
            SendDeps::Borrowed(d) => d,
        }
    }

    /// The same, settings changed through these deps (their Graph client).
    pub fn with_settings(mut self, settings: settings::Deps) -> Self {
        self.settings = settings;
        self
    }

    /// The same, the desk reading at `now`.
    pub fn desk_at(mut self, now: DateTime<Utc>) -> Self {
        self.contacts.clock = fixed_clock(now);
        self
    }

    pub fn as_agent(&self, agent: &str) -> Session<'_, 'd> {
        self.session(&self.tenant, agent, "agent")
    }

    pub fn as_supervisor(&self, agent: &str) -> Session<'_, 'd> {
        self.session(&self.tenant, agent, "supervisor")
    }

    pub fn as_admin(&self) -> Session<'_, 'd> {
        self.session(&self.tenant, "admin-1", "admin")
    }

    /// Anyone: another tenant's people, or a role name that is not ours.
    pub fn session(&self, tenant: &str, agent: &str, role: &str) -> Session<'_, 'd> {
        Session {
            app: self,
            claims: claims(tenant, agent, role),
            headers: Vec::new(),
            raw_body: None,
        }
    }
}

/// One caller's requests.
pub struct Session<'a, 'd> {
    app: &'a TestApp<'d>,
    claims: HashMap<String, String>,
    headers: Vec<(String, String)>,
    /// A body sent as these bytes instead of the route's JSON (not JSON at all, say).
    raw_body: Option<Vec<u8>>,
}

impl Session<'_, '_> {
    /// The token carries this claim too (or instead of the one it had).
    pub fn claim(mut self, name: &str, value: &str) -> Self {
        self.claims.insert(name.to_string(), value.to_string());
        self
    }

    /// The token lacks this claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Requests send these bytes as their body, whatever the route's JSON.
    pub fn raw_body(mut self, bytes: &[u8]) -> Self {
        self.raw_body = Some(bytes.to_vec());
        self
    }

    /// Every request of the session carries this header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> ApiRequest {
        let mut r = with_query(api(method, path, self.claims.clone()), query);
        if let Some(b) = body {
            r = with_body(r, b);
        }
        r.headers.extend(self.headers.iter().cloned());
        if let Some(raw) = &self.raw_body {
            r.body = raw.clone();
        }
        r
    }

    async fn contacts(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> ApiResponse {
        contacts::handle(&self.app.contacts, self.request(method, path, query, body)).await
    }

    async fn settings(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> ApiResponse {
        settings::handle(&self.app.settings, self.request(method, path, query, body)).await
    }

    async fn send(&self, path: &str, body: &Value, key: Option<&str>) -> ApiResponse {
        let mut r = self.request("POST", path, &[], Some(body));
        if let Some(k) = key {
            r.headers.insert("idempotency-key".into(), k.into());
        }
        send::handle(self.app.send_deps(), r).await
    }

    /// `GET /contacts`.
    pub async fn list_contacts(&self, query: &[(&str, &str)]) -> ApiResponse {
        self.contacts("GET", "/contacts", query, None).await
    }

    /// `GET /contacts/{id}`.
    pub async fn contact(&self, id: &str) -> ApiResponse {
        self.contacts("GET", &format!("/contacts/{id}"), &[], None)
            .await
    }

    /// `GET /contacts/{id}/quota`.
    pub async fn contact_quota(&self, id: &str) -> ApiResponse {
        self.contacts("GET", &format!("/contacts/{id}/quota"), &[], None)
            .await
    }

    /// `GET /quota?contact=...`.
    pub async fn quota(&self, query: &[(&str, &str)]) -> ApiResponse {
        self.contacts("GET", "/quota", query, None).await
    }

    /// `GET /agents`.
    pub async fn agents(&self, query: &[(&str, &str)]) -> ApiResponse {
        self.contacts("GET", "/agents", query, None).await
    }

    /// `GET /templates`.
    pub async fn templates(&self, query: &[(&str, &str)]) -> ApiResponse {
        self.contacts("GET", "/templates", query, None).await
    }

    /// `POST /contacts/{id}/handled`, with the body as sent (a note, or not JSON at all).
    pub async fn mark_handled(&self, id: &str, body: Option<&str>) -> ApiResponse {
        let mut r = self.request("POST", &format!("/contacts/{id}/handled"), &[], None);
        if let Some(b) = body {
            r.body = b.as_bytes().to_vec();
        }
        contacts::handle(&self.app.contacts, r).await
    }

    /// `DELETE /contacts/{id}/handled`.
    pub async fn undo_handled(&self, id: &str) -> ApiResponse {
        self.contacts("DELETE", &format!("/contacts/{id}/handled"), &[], None)
            .await
    }

    /// `POST /contacts/{id}/active-messages`, with an `Idempotency-Key` or none.
    pub async fn send_to_contact(&self, id: &str, body: &Value, key: Option<&str>) -> ApiResponse {
        self.send(&format!("/contacts/{id}/active-messages"), body, key)
            .await
    }

    /// `POST /active-messages`.
    pub async fn send_direct(&self, body: &Value, key: Option<&str>) -> ApiResponse {
        self.send("/active-messages", body, key).await
    }

    /// `GET /settings`.
    pub async fn get_settings(&self) -> ApiResponse {
        self.settings("GET", "/settings", &[], None).await
    }

    /// `PUT /settings`.
    pub async fn put_settings(&self, body: &Value) -> ApiResponse {
        self.settings("PUT", "/settings", &[], Some(body)).await
    }

    /// `PATCH /settings`.
    pub async fn patch_settings(&self, body: &Value) -> ApiResponse {
        self.settings("PATCH", "/settings", &[], Some(body)).await
    }

    /// `PUT /channels/{phoneNumberId}`.
    pub async fn put_channel(&self, pnid: &str, body: &Value) -> ApiResponse {
        self.settings("PUT", &format!("/channels/{pnid}"), &[], Some(body))
            .await
    }

    /// `DELETE /channels/{phoneNumberId}`.
    pub async fn delete_channel(&self, pnid: &str) -> ApiResponse {
        self.settings("DELETE", &format!("/channels/{pnid}"), &[], None)
            .await
    }

    /// `PUT /templates[?wabaId=]`.
    pub async fn put_templates(&self, query: &[(&str, &str)], body: &Value) -> ApiResponse {
        self.settings("PUT", "/templates", query, Some(body)).await
    }

    /// `POST /templates/sync`.
    pub async fn sync_templates(&self, body: &Value) -> ApiResponse {
        self.settings("POST", "/templates/sync", &[], Some(body))
            .await
    }
}
