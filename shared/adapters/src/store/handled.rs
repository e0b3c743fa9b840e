//! A contact marked handled without an active message (the agent phoned,
//! or wrote by email), and undone. A handled callback is no longer pending:
//! the record leaves the pending index while it is handled.

use afterhours_rules::callback::RequestedCallback;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

use super::client::{applied, number_value, string_value, Store, StoreError};
use super::desk::live_record;
use super::item::record_of;
use super::keys;
use crate::model::{ContactRecord, RecordKey};

/// The record exists and has not expired.
const LIVE: &str = "attribute_exists(PK) AND expiresAt > :now";

impl Store {
    fn live_record_update(&self, k: &RecordKey, now: DateTime<Utc>) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::record(k)))
            .expression_attribute_values(":now", number_value(now.timestamp()))
            .return_values(ReturnValue::AllNew)
    }

    /// Sends a conditional update of a live record: the record as it is now
    /// when it applied, `None` when its condition was not met.
    async fn live_update_applied(
        &self,
        req: UpdateItemFluentBuilder,
    ) -> Result<Option<ContactRecord>, StoreError> {
        match req.send().await {
            Ok(o) => o.attributes.as_ref().map(record_of).transpose(),
            Err(e) => {
                applied(Err::<(), _>(e))?;
                Ok(None)
            }
        }
    }

    /// Marks a live record handled by `by` at `now`, with an optional note.
    /// The first mark stays: marking a handled record again changes nothing.
    /// `None` when the record is missing or expired.
    pub async fn mark_handled(
        &self,
        k: &RecordKey,
        by: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<ContactRecord>, StoreError> {
        let mut set = "SET handledBy = :by, handledAt = :now".to_string();
        let mut req = self
            .live_record_update(k, now)
            .condition_expression(format!("{LIVE} AND attribute_not_exists(handledAt)"))
            .expression_attribute_values(":by", string_value(by));
        if let Some(n) = note {
            set.push_str(", handledNote = :note");
            req = req.expression_attribute_values(":note", string_value(n));
        }
        let req = req.update_expression(format!("{set} REMOVE GSI1PK, GSI1SK"));
        match self.live_update_applied(req).await? {
            Some(r) => Ok(Some(r)),
            // Already handled (idempotent), or missing or expired.
            None => self.get_record_consistent(k, now).await,
        }
    }

    /// Undoes a mark: a callback the customer asked for, not answered by an
    /// active message, is pending again. `None` when the record is missing
    /// or expired; a record that was not handled stays as it is.
    pub async fn unmark_handled(
        &self,
        k: &RecordKey,
        now: DateTime<Utc>,
    ) -> Result<Option<ContactRecord>, StoreError> {
        let pending_again = self
            .live_record_update(k, now)
            .condition_expression(format!(
                "{LIVE} AND attribute_exists(handledAt) AND requestedCallback = :yes \
                 AND messageSent = :false"
            ))
            .expression_attribute_values(":yes", string_value(RequestedCallback::Yes.as_str()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":g", string_value(keys::tenant_pk(&k.tenant)))
            .update_expression(
                "SET GSI1PK = :g, GSI1SK = LSK REMOVE handledBy, handledAt, handledNote",
            );
        if let Some(r) = self.live_update_applied(pending_again).await? {
            return Ok(Some(r));
        }
        let plain = self
            .live_record_update(k, now)
            .condition_expression(LIVE)
            .update_expression("REMOVE handledBy, handledAt, handledNote");
        self.live_update_applied(plain).await
    }

    /// One live record, strongly consistent.
    pub(super) async fn get_record_consistent(
        &self,
        k: &RecordKey,
        now: DateTime<Utc>,
    ) -> Result<Option<ContactRecord>, StoreError> {
        live_record(self.get_consistent(keys::record(k)).await?, now)
    }
}
