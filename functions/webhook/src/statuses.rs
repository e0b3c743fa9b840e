//! Statuses of the messages this system sent: delivery states of active
//! messages, and, through the `biz_opaque_callback_data` Meta echoes, the
//! settlement of a send whose answer was lost and the bookkeeping of a prompt
//! whose webhook stopped before storing it.

use afterhours_adapters::model::{
    Channel, DeliveryUpdate, DirectSend, PromptTag, RecordKey, SendTag, Settlement,
};
use afterhours_adapters::store::StoreError;
use afterhours_rules::webhook::StatusUpdate;

use crate::deps::{Deps, Stats};

pub async fn process(
    deps: &Deps,
    channel: &Channel,
    s: &StatusUpdate,
    stats: &mut Stats,
) -> Result<(), StoreError> {
    let update = DeliveryUpdate {
        tenant: &channel.tenant_id,
        wamid: &s.id,
        status: s.status,
        at: s.timestamp,
        error: s.error.clone(),
    };
    let changed = match deps.store.update_delivery(&update).await? {
        Some(changed) => changed,
        // No pointer from this wamid: a message whose bookkeeping is missing, if it carries our tag.
        None => settle(deps, channel, s).await?,
    };
    stats.statuses += usize::from(changed);
    Ok(())
}

/// Completes what the tag names: a send whose answer was lost, or a prompt.
async fn settle(deps: &Deps, channel: &Channel, s: &StatusUpdate) -> Result<bool, StoreError> {
    let Some(data) = s.callback_data.as_deref() else {
        return Ok(false);
    };
    if let Some(tag) = PromptTag::parse(data) {
        let Some(key) = RecordKey::from_id(&channel.tenant_id, &tag.prompt) else {
            return Ok(false);
        };
        return deps.store.complete_prompt(&key, &s.id, s.timestamp).await;
    }
    let Some(tag) = SendTag::parse(data) else {
        return Ok(false);
    };
    if let Some(customer) = tag.customer.as_deref().filter(|_| tag.record.is_empty()) {
        // A direct send (no record) whose answer was lost: settles the cap slot
        // and, as of the send's own time, the customer's agent.
        let send = DirectSend {
            tenant: &channel.tenant_id,
            customer,
            sender: &tag.sender,
            wamid: &s.id,
            sent_at: tag.sent_at_or(s.timestamp),
            at: s.timestamp,
        };
        return deps
            .store
            .settle_direct(&send, &tag, s.status, s.error.as_ref())
            .await;
    }
    let Some(key) = RecordKey::from_id(&channel.tenant_id, &tag.record) else {
        tracing::warn!("a status carries a tag that names no record; ignored");
        return Ok(false);
    };
    deps.store
        .settle_send(&Settlement {
            key: &key,
            tag: &tag,
            wamid: &s.id,
            status: s.status,
            at: s.timestamp,
            error: s.error.clone(),
        })
        .await
}
