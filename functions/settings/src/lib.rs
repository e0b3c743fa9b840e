//! Admin routes: `GET /settings` (any role), `PUT`/`PATCH /settings`,
//! `PUT`/`DELETE /channels/{phoneNumberId}`,
//! `PUT /templates` and `POST /templates/sync` (admin only), always for the caller's own tenant.

use afterhours_adapters::boot::{graph_client, ColdStart};
use afterhours_adapters::config::{Config, ConfigError};
use afterhours_adapters::desk::DeskRequest;
use afterhours_adapters::error_code::ErrorCode;
use afterhours_adapters::graph::{GraphClient, GraphError};
use afterhours_adapters::http::StatusCode;
use afterhours_adapters::http::{
    ApiError, ApiRequest, ApiResponse, Caller, Role, MAX_DESK_BODY_BYTES,
};
use afterhours_adapters::model::Channel;
use afterhours_adapters::store::{DynamoFailure, Store, StoreError};
use afterhours_adapters::tenant::{rules_of, RulesCache};
use afterhours_rules::ids::{is_phone_number_id, is_waba_id, Ident};
use afterhours_rules::settings::{self, Settings};
use afterhours_rules::templates::parse_template_list;
use afterhours_rules::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

pub mod versions;

pub struct Deps {
    pub store: Store,
    /// For `POST /templates/sync`, built on its first use so that the
    /// settings function's cold start does not pay for it.
    graph: OnceCell<GraphClient>,
    /// What builds the client; `None` when one was given (or none can be built).
    cfg: Option<Config>,
    /// Each tenant's rules, cached briefly: the language of every answer
    /// (forgotten when this instance saves new settings).
    rules: RulesCache,
}

impl Deps {
    /// Deps with a ready Graph client (or none: template sync answers 503).
    pub fn new(store: Store, graph: Option<GraphClient>) -> Self {
        Deps {
            store,
            graph: OnceCell::new_with(graph),
            cfg: None,
            rules: RulesCache::default(),
        }
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let boot = ColdStart::load().await?;
        Ok(Deps {
            store: boot.store,
            graph: OnceCell::new(),
            rules: RulesCache::new(boot.cfg.rules_cache),
            cfg: Some(boot.cfg),
        })
    }

    async fn graph(&self) -> Result<&GraphClient, ApiError> {
        self.graph
            .get_or_try_init(|| async {
                let cfg = self
                    .cfg
                    .as_ref()
                    .ok_or(ConfigError("no WhatsApp client configured".into()))?;
                graph_client(cfg).await
            })
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "the WhatsApp client is not available");
                ApiError::Unavailable("WhatsApp is not configured (no WhatsApp token).".into())
            })
    }
}

pub async fn handle(deps: &Deps, req: ApiRequest) -> ApiResponse {
    match DeskRequest::open(&deps.store, &deps.rules, &req).await {
        Ok(desk) => desk.respond(route(deps, &req, &desk.caller).await),
        Err(refusal) => refusal,
    }
}

/// `GET /settings`: the settings in force, whether they are the defaults, and the tenant's channels.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    #[serde(flatten)]
    pub settings: Settings,
    pub is_default: bool,
    /// The tenant's numbers, for the desk's channel picker.
    pub channels: Vec<Channel>,
}

/// A field read as it came: the expected type, or whatever else was sent
/// (so validation can name that field instead of failing the whole body).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Field<T> {
    Valid(T),
    Invalid(Value),
}

/// `PUT /channels/{phoneNumberId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelBody {
    pub waba_id: Option<Field<String>>,
    pub display_phone_number: Option<Field<String>>,
    pub default_agent_id: Option<Field<String>>,
}

/// `POST /templates/sync`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncBody {
    pub waba_id: Option<Field<String>>,
}

/// What storing a template list did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplatesStored {
    pub templates: usize,
    pub approved: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waba_id: Option<String>,
}

fn invalid(code: ErrorCode, message: &str, errors: Vec<FieldError>) -> ApiError {
    ApiError::Unprocessable {
        code,
        message: message.to_string(),
        details: json!({ "details": errors }),
    }
}

/// A template list is larger than the rest of the desk's bodies, and is kept
/// in one DynamoDB item (400 KB at most).
pub const MAX_TEMPLATES_BODY_BYTES: usize = 300 * 1024;

async fn route(deps: &Deps, req: &ApiRequest, caller: &Caller) -> Result<ApiResponse, ApiError> {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    req.limit_body(match (req.method.as_str(), segments.as_slice()) {
        ("PUT", ["templates"]) => MAX_TEMPLATES_BODY_BYTES,
        _ => MAX_DESK_BODY_BYTES,
    })?;
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["settings"]) => get_settings(deps, caller).await,
        ("PUT", ["settings"]) => write_settings(deps, caller, req, false).await,
        ("PATCH", ["settings"]) => write_settings(deps, caller, req, true).await,
        ("PUT", ["channels", _]) => put_channel(deps, caller, req).await,
        ("DELETE", ["channels", _]) => delete_channel(deps, caller, req).await,
        ("PUT", ["templates"]) => put_templates(deps, caller, req).await,
        ("POST", ["templates", "sync"]) => sync_templates(deps, caller, req).await,
        _ => Err(ApiError::NotFound(format!(
            "No route for {} {}.",
            req.method, req.path
        ))),
    }
}

/// A JSON answer with the settings version it shows.
fn with_etag(mut res: ApiResponse, version: u64) -> ApiResponse {
    res.headers.push(("etag".into(), versions::etag(version)));
    res
}

async fn get_settings(deps: &Deps, caller: &Caller) -> Result<ApiResponse, ApiError> {
    let ((stored, version), channels) = futures::try_join!(
        deps.store.get_settings_versioned(&caller.tenant),
        deps.store.tenant_channels(&caller.tenant)
    )?;
    let view = SettingsView {
        settings: rules_of(stored.as_ref()).settings,
        is_default: stored.is_none(),
        channels,
    };
    Ok(with_etag(ApiResponse::json(StatusCode::OK, &view), version))
}

/// How often a write without `If-Match` reads again after losing a race.
const WRITE_ATTEMPTS: u32 = 3;

/// `PUT /settings` (the body replaces them) and `PATCH /settings` (a JSON
/// merge patch of the current ones). With `If-Match`, a write over a version
/// someone else replaced is a 412; without it, the write is applied to
/// whatever is current (read again if another write came in between).
async fn write_settings(
    deps: &Deps,
    caller: &Caller,
    req: &ApiRequest,
    patch: bool,
) -> Result<ApiResponse, ApiError> {
    caller.require(Role::Admin)?;
    let body = req.json_body()?;
    if !body.is_object() {
        return Err(ApiError::BadRequest {
            code: ErrorCode::InvalidSettings,
            message: "The settings must be a JSON object.".into(),
        });
    }
    let wanted = versions::if_match(req)?;
    let mut attempt = 1;
    loop {
        let (stored, version) = deps.store.get_settings_versioned(&caller.tenant).await?;
        if wanted.is_some_and(|w| w != version) {
            // The same answer as a write that loses the race below.
            return Err(StoreError::Stale(format!("settings of {}", caller.tenant)).into());
        }
        let next = if patch {
            let mut current =
                serde_json::to_value(rules_of(stored.as_ref()).settings).unwrap_or_default();
            versions::merge_patch(&mut current, &body);
            current
        } else {
            body.clone()
        };
        let rules = settings::validate(&next).map_err(|e| {
            invalid(
                ErrorCode::InvalidSettings,
                "Some settings are not valid.",
                e,
            )
        })?;
        let normalized = serde_json::to_value(&rules.settings).unwrap_or_default();
        match deps
            .store
            .put_settings_if(&caller.tenant, &normalized, version)
            .await
        {
            Ok(v) => {
                deps.rules.forget(&caller.tenant);
                return Ok(with_etag(ApiResponse::json(StatusCode::OK, &normalized), v));
            }
            Err(StoreError::Stale(_)) if wanted.is_none() && attempt < WRITE_ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// A required identifier-like text field (1 to 128 characters, no `#`).
fn text_field(value: Option<Field<String>>, field: &str, errors: &mut Vec<FieldError>) -> String {
    match value {
        Some(Field::Valid(s)) => match Ident::parse("value", &s) {
            Ok(id) => id.into_string(),
            Err(_) => {
                errors.push(FieldError::new(
                    field,
                    "must be 1 to 128 characters, without #",
                ));
                String::new()
            }
        },
        Some(Field::Invalid(_)) => {
            errors.push(FieldError::new(field, "must be text"));
            String::new()
        }
        None => {
            errors.push(FieldError::new(field, "is required"));
            String::new()
        }
    }
}

/// The number must be one the Graph API lists under the account: otherwise
/// one tenant could bind another's number, or read another's templates.
async fn number_is_in_account(deps: &Deps, pnid: &str, waba: &str) -> Result<(), ApiError> {
    let not_listed = || {
        ApiError::Unprocessable {
        code: ErrorCode::ChannelNotInBusinessAccount,
        message: format!(
            "WhatsApp Business Account {waba} does not list phone number {pnid}; check both ids in Meta's WhatsApp Manager."
        ),
        details: json!({ "details": [FieldError::new("wabaId", "does not list this phone number")] }),
    }
    };
    match deps.graph().await?.phone_numbers(waba).await {
        Ok(ids) if ids.iter().any(|id| id == pnid) => Ok(()),
        Ok(_) | Err(GraphError::Rejected { .. }) => Err(not_listed()),
        Err(e) => {
            tracing::warn!(error = %e, "could not ask the Graph API for the account's numbers");
            Err(ApiError::Unavailable(
                "WhatsApp could not be reached to check the number; nothing was changed. Try again shortly.".into(),
            ))
        }
    }
}

/// The phone number id of the path, as Meta writes them.
fn phone_number_id(req: &ApiRequest, errors: &mut Vec<FieldError>) -> String {
    let pnid = req.path_param("phoneNumberId").unwrap_or_default().trim();
    if !is_phone_number_id(pnid) {
        errors.push(FieldError::new(
            "phoneNumberId",
            "must be the WhatsApp phone number id (letters and digits)",
        ));
    }
    pnid.to_string()
}

/// 422 `invalid_channel` naming each refused field, when there is one.
fn channel_is_valid(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(invalid(
        ErrorCode::InvalidChannel,
        "The channel is not valid.",
        errors,
    ))
}

async fn put_channel(
    deps: &Deps,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    caller.require(Role::Admin)?;
    let mut errors = Vec::new();
    let pnid = phone_number_id(req, &mut errors);
    let body: ChannelBody = serde_json::from_value(req.json_body()?).map_err(|_| {
        invalid(
            ErrorCode::InvalidChannel,
            "The channel must be a JSON object.",
            vec![],
        )
    })?;
    let waba_id = text_field(body.waba_id, "wabaId", &mut errors);
    if !waba_id.is_empty() && !is_waba_id(&waba_id) {
        errors.push(FieldError::new(
            "wabaId",
            "must be the WhatsApp Business Account id (digits)",
        ));
    }
    let display = text_field(body.display_phone_number, "displayPhoneNumber", &mut errors);
    let agent = text_field(body.default_agent_id, "defaultAgentId", &mut errors);
    channel_is_valid(errors)?;
    // Before any Graph call: the platform's token lists every account shared
    // with it, so only the operator's grant says this one is the tenant's.
    if deps.store.account_grantee(&waba_id).await?.as_deref() != Some(caller.tenant.as_str()) {
        return Err(ApiError::not_granted(&waba_id));
    }
    number_is_in_account(deps, &pnid, &waba_id).await?;
    let channel = Channel {
        phone_number_id: pnid,
        tenant_id: caller.tenant.clone(),
        waba_id,
        display_phone_number: display,
        default_agent_id: agent,
    };
    deps.store.put_channel(&channel).await?;
    Ok(ApiResponse::json(StatusCode::OK, &channel))
}

/// `DELETE /channels/{phoneNumberId}`: the number stops being routed to the
/// tenant; its records stay until they expire, and it can be bound again.
async fn delete_channel(
    deps: &Deps,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    caller.require(Role::Admin)?;
    let mut errors = Vec::new();
    let pnid = phone_number_id(req, &mut errors);
    channel_is_valid(errors)?;
    if deps.store.unbind_channel(&caller.tenant, &pnid).await? {
        Ok(ApiResponse::json(
            StatusCode::OK,
            &json!({ "phoneNumberId": pnid, "bound": false }),
        ))
    } else {
        Err(ApiError::Missing {
            code: ErrorCode::ChannelNotBound,
            message: format!("Phone number {pnid} is not bound to your business."),
        })
    }
}

async fn put_templates(
    deps: &Deps,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    caller.require(Role::Admin)?;
    let waba = account_of_put(deps, caller, req).await?;
    let stored = store_templates(deps, caller, waba.as_deref(), &req.json_body()?).await?;
    Ok(ApiResponse::json(StatusCode::OK, &stored))
}

/// The account a `PUT /templates` is for: `?wabaId=` (one of the tenant's),
/// else the tenant's only one; `None` (a list for every channel) while the
/// tenant has no channel yet.
async fn account_of_put(
    deps: &Deps,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Option<String>, ApiError> {
    if let Some(w) = req.query.get("wabaId").map(|w| w.trim()) {
        if !is_waba_id(w) {
            return Err(ApiError::BadRequest {
                code: ErrorCode::InvalidQuery,
                message: "wabaId must be the WhatsApp Business Account id (digits).".into(),
            });
        }
        return own_account(deps, caller, w).await.map(Some);
    }
    let mut accounts = deps.store.tenant_wabas(&caller.tenant).await?;
    match accounts.len() {
        0 => Ok(None),
        1 => Ok(accounts.pop()),
        _ => Err(ApiError::BadRequest {
            code: ErrorCode::WabaRequired,
            message: format!(
                "This tenant has several WhatsApp Business Accounts; name one with ?wabaId= ({}).",
                accounts.join(", ")
            ),
        }),
    }
}

/// A business account of the caller's tenant (404 for any other).
async fn own_account(deps: &Deps, caller: &Caller, waba: &str) -> Result<String, ApiError> {
    if deps.store.tenant_has_waba(&caller.tenant, waba).await? {
        Ok(waba.to_string())
    } else {
        Err(ApiError::NotFound(format!(
            "No channel of this tenant belongs to WhatsApp Business Account {waba}."
        )))
    }
}

/// `POST /templates/sync {"wabaId": "..."}`: replaces the tenant's templates
/// with what the Graph API lists for one of the tenant's WhatsApp Business Accounts.
async fn sync_templates(
    deps: &Deps,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    caller.require(Role::Admin)?;
    let name_it = || {
        invalid(
            ErrorCode::InvalidRequest,
            "Name the account to sync.",
            vec![FieldError::new(
                "wabaId",
                "must be the WhatsApp Business Account id (digits)",
            )],
        )
    };
    let body: SyncBody = serde_json::from_value(req.json_body()?).map_err(|_| name_it())?;
    let waba = match body.waba_id {
        Some(Field::Valid(w)) if is_waba_id(w.trim()) => w.trim().to_string(),
        _ => return Err(name_it()),
    };
    let waba = own_account(deps, caller, &waba).await?;
    let waba = waba.as_str();
    let graph = deps.graph().await?;
    let list = graph.message_templates(waba).await.map_err(|e| {
        ApiError::from_graph(
            e,
            ErrorCode::WhatsappTimeout,
            "WhatsApp did not answer in time; the templates were not changed.",
            "WhatsApp could not be reached; the templates were not changed.",
        )
    })?;
    let stored = store_templates(deps, caller, Some(waba), &json!({ "data": list })).await?;
    Ok(ApiResponse::json(StatusCode::OK, &stored))
}

/// Validates Meta's template list whole and stores it as one account's
/// templates (or, with no account, the list for every channel).
async fn store_templates(
    deps: &Deps,
    caller: &Caller,
    waba: Option<&str>,
    body: &Value,
) -> Result<TemplatesStored, ApiError> {
    let list = parse_template_list(body).map_err(|e| {
        invalid(
            ErrorCode::InvalidTemplates,
            "The template list is not Meta's message_templates JSON.",
            vec![FieldError::new("data", e)],
        )
    })?;
    let data = match body {
        Value::Array(a) => a.clone(),
        _ => body["data"].as_array().cloned().unwrap_or_default(),
    };
    let doc = json!({ "data": data });
    let written = match waba {
        Some(w) => {
            deps.store
                .put_account_templates(&caller.tenant, w, &doc)
                .await
        }
        None => deps.store.put_templates(&caller.tenant, &doc).await,
    };
    match written {
        Err(e) if e.dynamo_kind() == Some(DynamoFailure::Validation) => {
            return Err(ApiError::TooLarge(
                "All business accounts' templates together exceed what one tenant can store (400 KB); remove templates you no longer use in Meta's WhatsApp Manager."
                    .into(),
            ))
        }
        other => other?,
    }
    Ok(TemplatesStored {
        templates: list.len(),
        approved: list.iter().filter(|t| t.is_approved()).count(),
        waba_id: waba.map(String::from),
    })
}
