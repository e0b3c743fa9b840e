//! Inbound messages: recorded when written while the team was closed, the
//! next-hours prompt for the first of a closed period (only while still
//! closed, several of one POST at once), the customer's Yes/No.

use afterhours_adapters::model::{
    Channel, Inbound, IngestOutcome, PromptTag, RecordKey, Tap, TapOutcome,
};
use afterhours_adapters::store::{DynamoFailure, StoreError};
use afterhours_rules::display::mask;
use afterhours_rules::prompt::{answer_of, prompt_body, prompt_message};
use afterhours_rules::settings::TenantRules;
use afterhours_rules::webhook::{InboundMessage, MessageKind};
use afterhours_rules::RETENTION_DAYS;
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::deps::{Deps, Stats, PROMPT_CONCURRENCY};

/// How far ahead of our clock a message's timestamp may be (clocks drift a little).
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 5;

/// A tenant's rules as this instance has them, and the last moment another
/// instance may have applied the settings they replaced (epoch seconds).
pub struct TenantNow<'a> {
    pub rules: &'a TenantRules,
    pub settings_changed: i64,
}

/// A prompt to send once the POST's messages are stored.
pub struct Prompt {
    key: RecordKey,
    to: String,
}

/// Records one message; returns the prompt it calls for, if any.
pub async fn process(
    deps: &Deps,
    channel: &Channel,
    tenant: &TenantNow<'_>,
    m: &InboundMessage,
    stats: &mut Stats,
) -> Result<Option<Prompt>, StoreError> {
    let rules = tenant.rules;
    let now = (deps.clock)();
    let Some(customer) = m.customer() else {
        stats.skip("no_customer", 1);
        return Ok(None);
    };
    let why_skip = if m.kind == MessageKind::System {
        Some("system")
    } else if m.timestamp + Duration::days(RETENTION_DAYS) <= now {
        Some("too_old")
    } else if m.timestamp > now + Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
        Some("future")
    } else {
        None
    };
    if let Some(why) = why_skip {
        tracing::warn!(reason = why, "webhook message skipped");
        stats.skip(why, 1);
        return Ok(None);
    }
    let prompt = if rules.schedule.is_open(m.timestamp) {
        stats.inside_hours += 1;
        None
    } else {
        match record(deps, channel, tenant, m, customer, stats).await {
            Err(e) if e.dynamo_kind() == Some(DynamoFailure::Validation) => {
                // It can never be stored: retrying the POST for 7 days would not help.
                tracing::error!(customer = %mask(customer), error = %e, "a message DynamoDB refuses as invalid; skipped");
                stats.skip("poison", 1);
                return Ok(None);
            }
            other => other?,
        }
    };
    if let (MessageKind::ButtonReply { id, .. }, Some(ctx)) = (&m.kind, &m.context_id) {
        if let Some(yes) = answer_of(id) {
            let tap = Tap {
                tenant: &channel.tenant_id,
                customer,
                prompt_wamid: ctx,
                yes,
                at: m.timestamp,
            };
            answer(deps, &tap, stats).await?;
        }
    }
    Ok(prompt)
}

/// A tap on a prompt's button: the callback answer, counted.
async fn answer(deps: &Deps, tap: &Tap<'_>, stats: &mut Stats) -> Result<(), StoreError> {
    match deps.store.answer_callback(tap).await? {
        TapOutcome::Answered if tap.yes => stats.answered_yes += 1,
        TapOutcome::Answered => stats.answered_no += 1,
        TapOutcome::Foreign => {
            // Whose number it was stays out of the logs.
            tracing::warn!("a tap quoting a prompt sent to another customer; ignored");
            stats.foreign_taps += 1;
        }
        TapOutcome::Unchanged => {}
    }
    Ok(())
}

/// Records a message written while the team was closed on the record of its
/// agent and closed period. The first of the period gets the prompt, if the
/// tenant wants it and the team is still closed now (a late delivery after
/// opening is recorded with `n/a` and no prompt).
async fn record(
    deps: &Deps,
    channel: &Channel,
    tenant: &TenantNow<'_>,
    m: &InboundMessage,
    customer: &str,
    stats: &mut Stats,
) -> Result<Option<Prompt>, StoreError> {
    let rules = tenant.rules;
    let routing = deps
        .store
        .route_message(channel, customer, (deps.clock)())
        .await?;
    if !routing.bound {
        // Unbound or revoked since this instance cached the binding.
        deps.forget_channel(&channel.phone_number_id);
        stats.skip("unknown_channel", 1);
        return Ok(None);
    }
    let settled = settled(routing.changed_at.max(tenant.settings_changed), m.timestamp);
    let agent = routing
        .agent
        .or(routing.default_agent)
        .unwrap_or_else(|| channel.default_agent_id.clone());
    let key = RecordKey {
        tenant: channel.tenant_id.clone(),
        agent,
        customer: customer.to_string(),
        period: rules.schedule.period_start(m.timestamp).timestamp(),
    };
    let inbound = Inbound {
        key: key.clone(),
        channel: channel.phone_number_id.clone(),
        wamid: m.id.clone(),
        at: m.timestamp,
        wa_id: m.wa_id.clone(),
        user_id: m.user_id.clone(),
        name: m.profile_name.clone(),
        settled,
    };
    match deps.store.record_inbound(&inbound).await? {
        IngestOutcome::Duplicate => stats.duplicates += 1,
        IngestOutcome::Added => stats.recorded += 1,
        IngestOutcome::Created => {
            stats.recorded += 1;
            let wants = rules.settings.notify_next_service_hours
                && !matches!(m.kind, MessageKind::ButtonReply { .. });
            if wants && !rules.schedule.is_open((deps.clock)()) {
                let to = m.wa_id.clone().unwrap_or_else(|| customer.to_string());
                return Ok(Some(Prompt { key, to }));
            }
        }
    }
    Ok(None)
}

/// Whether every delivery of the message names the same record: nothing
/// that picks it changed since `MAX_CLOCK_SKEW_MINUTES` before the message's
/// time, the earliest any delivery of it can have been processed (a message
/// further ahead of our clock is skipped).
pub fn settled(changed_at: i64, written: DateTime<Utc>) -> bool {
    changed_at < (written - Duration::minutes(MAX_CLOCK_SKEW_MINUTES)).timestamp()
}

/// Sends the POST's prompts, at most [`PROMPT_CONCURRENCY`] at once; returns
/// how many went out. Only a storage failure is an error.
pub async fn send_prompts(
    deps: &Deps,
    channel: &Channel,
    rules: &TenantRules,
    prompts: Vec<Prompt>,
) -> Result<usize, StoreError> {
    let sent: Vec<bool> = stream::iter(prompts)
        .map(|p| send_prompt(deps, channel, rules, p))
        .buffer_unordered(PROMPT_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(sent.into_iter().filter(|s| *s).count())
}

/// The next-hours prompt for a new record, naming the next opening after
/// now; tagged with the record so its statuses can complete the bookkeeping
/// if storing it below fails. A failed send is logged and leaves `n/a`.
async fn send_prompt(
    deps: &Deps,
    channel: &Channel,
    rules: &TenantRules,
    p: Prompt,
) -> Result<bool, StoreError> {
    let now = (deps.clock)();
    let next = rules.schedule.next_opening(now);
    let texts = rules.prompt_texts();
    let body = prompt_body(&texts, next, rules.tz(), &rules.settings.language);
    let mut message = prompt_message(&p.to, &body, &texts);
    message["biz_opaque_callback_data"] = PromptTag::new(&p.key).encode().into();
    match deps.graph.send(&channel.phone_number_id, &message).await {
        Ok(wamid) => {
            deps.store.mark_prompt_sent(&p.key, &wamid, now).await?;
            Ok(true)
        }
        Err(e) => {
            tracing::warn!(customer = %mask(&p.key.customer), error = %e, "next-hours prompt not sent; the record keeps n/a");
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_message_is_routed_for_good_when_written_well_after_the_last_change() {
        let written = Utc.with_ymd_and_hms(2026, 11, 21, 2, 10, 0).unwrap();
        let before = |d: Duration| (written - d).timestamp();
        assert!(settled(before(Duration::minutes(6)), written));
        assert!(settled(
            before(Duration::minutes(5) + Duration::seconds(1)),
            written
        ));
        // Within our clock's possible lead on Meta's, or later: perhaps not.
        assert!(!settled(before(Duration::minutes(5)), written));
        assert!(!settled(written.timestamp(), written));
        assert!(!settled(i64::MAX, written));
    }
}
