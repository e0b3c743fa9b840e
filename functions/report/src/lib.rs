//! The scheduled report: for every tenant, the callbacks customers asked for
//! that nobody answered yet, grouped by agent, as `UnansweredCallbacksReport`
//! events on the project's bus (split so each entry stays under EventBridge's
//! 256 KB, each with `reportId`, `part` and `parts`). Tenants with nothing
//! pending get no event.
//!
//! Each tenant is published as soon as it is read, and a tenant that fails
//! does not stop the others. A run watches its time: before it runs out, it
//! stops after the tenant at hand and hands the rest to a fresh invocation
//! (an `UnansweredCallbacksReportContinuation` event on the bus, which invokes
//! the function again with a tenant cursor), so any number of tenants is
//! reported in one morning. Every invocation reports at least one tenant.

use std::collections::BTreeMap;
use std::time::Instant;

use afterhours_adapters::boot::ColdStart;
use afterhours_adapters::config::ConfigError;
use afterhours_adapters::events::{entry_size, Event, Publisher, MAX_ENTRY_BYTES};
use afterhours_adapters::lambda::{system_clock, Clock};
use afterhours_adapters::model::ContactRecord;
use afterhours_adapters::store::{Store, StoreError};
use afterhours_adapters::tenant::rules_of;
use afterhours_rules::cap::local_iso;
use afterhours_rules::display;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

/// The `DetailType` of the report's events.
pub const DETAIL_TYPE: &str = "UnansweredCallbacksReport";
/// The `DetailType` of the event that hands the rest of a run to a fresh invocation.
pub const CONTINUATION_DETAIL_TYPE: &str = "UnansweredCallbacksReportContinuation";
/// Room kept free in an entry besides the callbacks themselves.
const ENVELOPE_ROOM: usize = 2048;
/// Tenants read per page of the registry.
const TENANT_PAGE: i32 = 100;

pub struct Deps {
    pub store: Store,
    pub events: Publisher,
    pub clock: Clock,
    /// The largest entry to put on the bus (EventBridge's limit; smaller in tests).
    pub max_entry_bytes: usize,
    /// Signs the continuations this function hands on, and checks the ones it receives.
    pub continuations: Continuations,
}

impl Deps {
    /// With a continuation key of its own, random: continuations are accepted
    /// only by this very `Deps` (one process, as the local stack and the tests run it).
    pub fn new(store: Store, events: Publisher, clock: Clock) -> Self {
        let key = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Deps {
            store,
            events,
            clock,
            max_entry_bytes: MAX_ENTRY_BYTES,
            continuations: Continuations::new(key.as_bytes()),
        }
    }

    /// `CONTINUATION_KEY` (or `CONTINUATION_KEY_SECRET_ARN`, a secret that only
    /// this function may read) signs the continuations of every instance.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let boot = ColdStart::load().await?;
        let key = afterhours_adapters::config::secret("CONTINUATION_KEY").await?;
        if key.len() < 16 {
            return Err(ConfigError(
                "CONTINUATION_KEY must be at least 16 characters".into(),
            ));
        }
        Ok(Deps {
            continuations: Continuations::new(key.as_bytes()),
            ..Deps::new(boot.store.clone(), boot.publisher(), system_clock())
        })
    }
}

/// The key that signs a run's continuation events and checks the ones received.
#[derive(Clone)]
pub struct Continuations {
    key: Vec<u8>,
}

impl Continuations {
    pub fn new(key: &[u8]) -> Self {
        Continuations { key: key.to_vec() }
    }

    /// What an invocation's event asks for at `now`: the schedule's starts a
    /// fresh run; a continuation goes on only when this key signed it,
    /// unchanged, for a run that started less than [`MAX_RUN_HOURS`] ago.
    pub fn input_of(
        &self,
        ev: &Value,
        now: DateTime<Utc>,
    ) -> Result<RunInput, ContinuationRefused> {
        if ev["detail-type"] != CONTINUATION_DETAIL_TYPE {
            return Ok(RunInput::default());
        }
        let c: Continuation = serde_json::from_value(ev["detail"].clone())
            .map_err(|_| ContinuationRefused("not a continuation of this function"))?;
        let started = c
            .input
            .started_at
            .ok_or(ContinuationRefused("no start time"))?;
        let sig = hex::decode(&c.signature).map_err(|_| ContinuationRefused("bad signature"))?;
        if self
            .mac(&c.input)
            .is_none_or(|m| m.verify_slice(&sig).is_err())
        {
            return Err(ContinuationRefused("bad signature"));
        }
        let age = now - started;
        if age > chrono::Duration::hours(MAX_RUN_HOURS) || age < -chrono::Duration::minutes(5) {
            return Err(ContinuationRefused("a run that is not under way"));
        }
        Ok(c.input)
    }

    /// The MAC of a run's input (HMAC takes any key length: never `None` in practice).
    fn mac(&self, input: &RunInput) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).ok()?;
        let started = input.started_at.map_or(0, |t| t.timestamp_millis());
        mac.update(format!("continuation/v1\n{started}\n").as_bytes());
        mac.update(input.after.as_deref().unwrap_or("").as_bytes());
        Some(mac)
    }

    /// The continuation event's detail: the input and its signature.
    pub fn sign(&self, input: RunInput) -> Value {
        let signature = self
            .mac(&input)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default();
        serde_json::to_value(Continuation { input, signature }).unwrap_or_default()
    }
}

/// How long after its start a run's continuation is still taken.
pub const MAX_RUN_HOURS: i64 = 12;

/// A continuation event this function did not hand on (or too old to go on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("report continuation refused: {0}")]
pub struct ContinuationRefused(pub &'static str);

/// What a continuation event carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Continuation {
    #[serde(flatten)]
    input: RunInput,
    signature: String,
}

/// Where a run starts: after tenant `after` (from the beginning when none),
/// as of `startedAt` (so every part of a run has the same report ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInput {
    pub after: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
}

/// Until when a run may start another tenant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    stop_at: Option<Instant>,
}

impl Budget {
    pub fn unlimited() -> Self {
        Budget { stop_at: None }
    }

    /// Stop starting tenants at `stop_at` (the invocation's deadline less a margin).
    pub fn until(stop_at: Instant) -> Self {
        Budget {
            stop_at: Some(stop_at),
        }
    }

    fn exhausted(&self) -> bool {
        self.stop_at.is_some_and(|t| Instant::now() >= t)
    }
}

/// What one run did, for the function's result and its log line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub started_at: Option<DateTime<Utc>>,
    pub tenants_scanned: usize,
    pub tenants_reported: usize,
    pub records: usize,
    pub events: usize,
    pub events_published: usize,
    /// Tenants whose report could not be published (or read).
    pub failed_tenants: Vec<String>,
    pub failures: Vec<String>,
    /// Set when the run stopped for time: the next invocation starts after this tenant.
    pub continue_after: Option<String>,
}

impl Summary {
    /// Adds the next invocation's summary of the same run.
    pub fn merge(&mut self, next: Summary) {
        self.started_at = self.started_at.or(next.started_at);
        self.tenants_scanned += next.tenants_scanned;
        self.tenants_reported += next.tenants_reported;
        self.records += next.records;
        self.events += next.events;
        self.events_published += next.events_published;
        self.failed_tenants.extend(next.failed_tenants);
        self.failures.extend(next.failures);
        self.continue_after = next.continue_after;
    }

    /// Why the invocation must end in an error (so the schedule's retry
    /// policy and dead-letter queue take over), if it must.
    pub fn error(&self) -> Option<String> {
        (!self.failures.is_empty()).then(|| {
            format!(
                "the report could not be published for {} tenant(s): {}; {}",
                self.failed_tenants.len(),
                self.failed_tenants.join(", "),
                self.failures.join("; ")
            )
        })
    }
}

/// The id a consumer reassembles a tenant's parts by, and drops reruns by:
/// the tenant and the run's local date in its zone.
pub fn report_id(tenant: &str, tz: Tz, now: DateTime<Utc>) -> String {
    format!("{tenant}/{}", now.with_timezone(&tz).format("%Y-%m-%d"))
}

/// One pending callback as the report shows it.
pub fn callback_view(r: &ContactRecord, tz: Tz, now: DateTime<Utc>) -> Value {
    let hours_left =
        ((r.expires_at - now).num_minutes().max(0) as f64 / 60.0 * 10.0).round() / 10.0;
    json!({
        "id": r.key.id(),
        "contact": display::contact(r.wa_id.as_deref(), r.user_id.as_deref()),
        "name": r.name,
        "displayName": display::display_name(r.name.as_deref()),
        "contactDate": local_iso(r.first_at, tz),
        "expiresAt": local_iso(r.expires_at, tz),
        "hoursLeft": hours_left,
    })
}

/// Callbacks by agent, in a part of the report.
type Part<'a> = BTreeMap<&'a str, Vec<Value>>;

/// Greedy packing of (agent, callback) in order into parts of at most
/// `budget` bytes of callbacks each; each part regroups by agent.
fn pack<'a>(by_agent: &BTreeMap<&'a str, Vec<Value>>, budget: usize) -> Vec<Part<'a>> {
    let mut parts: Vec<Part<'a>> = vec![BTreeMap::new()];
    let mut used = 0usize;
    for (agent, items) in by_agent {
        for item in items {
            let new_agent = !parts.last().is_some_and(|p| p.contains_key(agent));
            let size = item.to_string().len() + 1 + if new_agent { agent.len() + 64 } else { 0 };
            if used + size > budget && used > 0 {
                parts.push(BTreeMap::new());
                used = 0;
            }
            used += size;
            if let Some(p) = parts.last_mut() {
                p.entry(agent).or_default().push(item.clone());
            }
        }
    }
    parts
}

/// The events of one tenant: callbacks grouped by agent, packed into as few
/// entries as fit under `max_bytes` each, numbered `part` of `parts`.
pub fn tenant_events(
    tenant: &str,
    tz: Tz,
    records: &[ContactRecord],
    now: DateTime<Utc>,
    max_bytes: usize,
) -> Vec<Event> {
    let mut by_agent: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut sorted: Vec<&ContactRecord> = records.iter().collect();
    sorted.sort_by_key(|r| (r.key.agent.clone(), r.first_at));
    for r in sorted {
        by_agent
            .entry(r.key.agent.as_str())
            .or_default()
            .push(callback_view(r, tz, now));
    }
    let parts = pack(&by_agent, max_bytes.saturating_sub(ENVELOPE_ROOM).max(1));
    let total = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let count: usize = p.values().map(Vec::len).sum();
            let agents: Vec<Value> = p
                .into_iter()
                .map(|(agent, callbacks)| json!({"agentId": agent, "count": callbacks.len(), "callbacks": callbacks}))
                .collect();
            Event {
                detail_type: DETAIL_TYPE.into(),
                detail: json!({
                    "reportId": report_id(tenant, tz, now),
                    "tenantId": tenant,
                    "generatedAt": local_iso(now, tz),
                    "timezone": tz.name(),
                    "part": i + 1,
                    "parts": total,
                    "totalCallbacks": records.len(),
                    "callbacksInPart": count,
                    "agents": agents,
                }),
            }
        })
        .collect()
}

/// Reads, packs and publishes one tenant's report: its pending callbacks
/// (handled ones are not pending), nothing while it is in 24/7 mode.
async fn report_tenant(
    deps: &Deps,
    tenant: &str,
    now: DateTime<Utc>,
    summary: &mut Summary,
) -> Result<(), String> {
    let pending = deps
        .store
        .pending_callbacks(tenant, now)
        .await
        .map_err(|e: StoreError| e.to_string())?;
    if pending.is_empty() {
        return Ok(());
    }
    let settings = deps
        .store
        .get_settings(tenant)
        .await
        .map_err(|e| e.to_string())?;
    let rules = rules_of(settings.as_ref());
    if rules.settings.always_open {
        // 24/7 service: nothing is outside hours, so nothing is reported (as the desk lists nothing).
        return Ok(());
    }
    let tz = rules.tz();
    let events = tenant_events(tenant, tz, &pending, now, deps.max_entry_bytes);
    if let Some(e) = events.iter().find(|e| entry_size(e) > MAX_ENTRY_BYTES) {
        return Err(format!(
            "a single callback does not fit in one event ({} bytes)",
            entry_size(e)
        ));
    }
    summary.tenants_reported += 1;
    summary.records += pending.len();
    summary.events += events.len();
    let outcome = deps.events.publish(&events).await;
    summary.events_published += outcome.published;
    match outcome.failed.first() {
        None => Ok(()),
        Some((_, why)) => Err(format!(
            "{} of {} events not published: {why}",
            outcome.failed.len(),
            events.len()
        )),
    }
}

/// Runs the report from `input`, one tenant after the other, until every
/// tenant is done or the budget says stop (then `continue_after` says where
/// the next invocation goes on). At least one tenant is done per run.
pub async fn run(deps: &Deps, input: &RunInput, budget: &Budget) -> Summary {
    let now = input.started_at.unwrap_or_else(|| (deps.clock)());
    let mut summary = Summary {
        started_at: Some(now),
        ..Summary::default()
    };
    let mut after = input.after.clone();
    'pages: loop {
        let (tenants, more) = match deps
            .store
            .tenants_after(after.as_deref(), TENANT_PAGE)
            .await
        {
            Ok(page) => page,
            Err(e) => {
                summary.failures.push(format!("listing tenants: {e}"));
                break;
            }
        };
        for tenant in tenants {
            if summary.tenants_scanned > 0 && budget.exhausted() {
                summary.continue_after = after;
                break 'pages;
            }
            summary.tenants_scanned += 1;
            if let Err(why) = report_tenant(deps, &tenant, now, &mut summary).await {
                tracing::error!(tenant = %tenant, error = %why, "tenant report failed");
                summary.failures.push(format!("tenant {tenant}: {why}"));
                summary.failed_tenants.push(tenant.clone());
            }
            after = Some(tenant);
        }
        if !more {
            break;
        }
    }
    tracing::info!(summary = ?summary, "unanswered-callbacks report");
    afterhours_adapters::metrics::Counts::new()
        .add("ReportTenants", summary.tenants_scanned)
        .add("ReportTenantsReported", summary.tenants_reported)
        .add("ReportRecords", summary.records)
        .add("ReportParts", summary.events)
        .add("ReportFailures", summary.failed_tenants.len())
        .emit();
    summary
}

/// Hands the rest of a run to a fresh invocation: the continuation event on
/// the bus, which a rule in `template.yaml` delivers to this function.
pub async fn hand_off(deps: &Deps, summary: &Summary) -> Result<(), String> {
    let Some(after) = &summary.continue_after else {
        return Ok(());
    };
    let input = RunInput {
        after: Some(after.clone()),
        started_at: summary.started_at,
    };
    let event = Event {
        detail_type: CONTINUATION_DETAIL_TYPE.into(),
        detail: deps.continuations.sign(input),
    };
    let outcome = deps.events.publish(&[event]).await;
    match outcome.failed.first() {
        None => Ok(()),
        Some((_, why)) => Err(format!(
            "the rest of the run (after tenant {after}) could not be handed off: {why}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use afterhours_adapters::model::RecordKey;
    use chrono::{Duration, TimeZone};

    fn record(agent: &str, customer: &str, first: DateTime<Utc>) -> ContactRecord {
        ContactRecord {
            key: RecordKey {
                tenant: "t".into(),
                agent: agent.into(),
                customer: customer.into(),
                period: 1,
            },
            channel: "PN".into(),
            wa_id: Some(customer.into()),
            user_id: None,
            name: None,
            first_at: first,
            last_at: first,
            message_count: 1,
            expires_at: first + Duration::days(7),
            requested_callback: afterhours_rules::callback::RequestedCallback::Yes,
            prompt_wamid: None,
            message_sent: false,
            sent_by: None,
            sent_at: None,
            sent_template: None,
            sent_wamid: None,
            delivery: None,
            handled: None,
        }
    }

    #[test]
    fn callbacks_are_grouped_by_agent() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let recs = [
            record("b", "2", now - Duration::hours(5)),
            record("a", "1", now - Duration::hours(10)),
            record("a", "3", now - Duration::hours(2)),
        ];
        let ev = tenant_events(
            "t",
            chrono_tz::America::Sao_Paulo,
            &recs,
            now,
            MAX_ENTRY_BYTES,
        );
        assert_eq!(ev.len(), 1);
        let d = &ev[0].detail;
        assert_eq!(d["agents"][0]["agentId"], "a");
        assert_eq!(d["agents"][0]["count"], 2);
        assert_eq!(d["agents"][0]["callbacks"][0]["contact"], "+1");
        assert_eq!(d["agents"][0]["callbacks"][0]["displayName"], "(No name)");
        assert_eq!(d["agents"][0]["callbacks"][0]["hoursLeft"], 158.0);
        assert_eq!(d["agents"][1]["agentId"], "b");
        assert_eq!(d["totalCallbacks"], 3);
    }

    #[test]
    fn a_large_tenant_is_split_under_the_entry_limit() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let recs: Vec<ContactRecord> = (0..3000)
            .map(|i| {
                record(
                    &format!("agent-{}", i % 7),
                    &format!("55119{i:08}"),
                    now - Duration::minutes(i),
                )
            })
            .collect();
        let ev = tenant_events("t", chrono_tz::UTC, &recs, now, MAX_ENTRY_BYTES);
        assert!(ev.len() > 1);
        let mut total = 0;
        for e in &ev {
            assert!(entry_size(e) <= MAX_ENTRY_BYTES, "{}", entry_size(e));
            assert_eq!(e.detail["parts"], ev.len());
            total += e.detail["callbacksInPart"].as_u64().unwrap();
        }
        assert_eq!(total, 3000);
    }
}
