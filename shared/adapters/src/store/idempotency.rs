//! Idempotency keys the Powertools way: a conditional put claims a key (new
//! or expired), the body's hash refuses a key reused with another request,
//! the final response is stored for replay, and TTL cleans up.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::client::{dynamo, number_value, string_value, Store, StoreError};
use super::item::{parse, whole};
use super::keys;
use crate::model::StoredResponse;

/// How long idempotency records are kept.
pub const IDEMPOTENCY_HOURS: i64 = 24;

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is ours now; go ahead.
    Claimed,
    /// Done before with this body: here is the stored response (status, body).
    Done { status: u16, body: String },
    /// Another request with this key is still running.
    InProgress,
    /// The key was used with another body.
    Mismatch,
}

/// The states an idempotency item goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum IdemState {
    InProgress,
    Done,
}

impl IdemState {
    fn as_str(self) -> &'static str {
        match self {
            IdemState::InProgress => "in_progress",
            IdemState::Done => "done",
        }
    }
}

/// A key's item: the request it was first used with, where that request
/// stands, and its final answer once there is one.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdempotencyItem {
    body_hash: String,
    idem_state: IdemState,
    /// Until when a request still running holds the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hold_until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result_json: Option<String>,
}

impl Store {
    /// Claims an idempotency key: a conditional put that wins when the key is
    /// new, expired, or held by a request that stopped without an answer (its
    /// hold, as long as the function's timeout, ran out); otherwise what the
    /// earlier request left, returned by the failed put itself (a strongly
    /// consistent answer, no second read).
    pub async fn claim_idempotency(
        &self,
        pk: &str,
        body_hash: &str,
        now: DateTime<Utc>,
        hold: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        let item = whole(
            keys::idempotency(pk),
            &IdempotencyItem {
                body_hash: body_hash.to_string(),
                idem_state: IdemState::InProgress,
                hold_until: Some((now + hold).timestamp()),
                expires_at: Some((now + Duration::hours(IDEMPOTENCY_HOURS)).timestamp()),
                status_code: None,
                result_json: None,
            },
        )?;
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR expiresAt < :now OR (idemState = :held AND holdUntil < :now)",
            )
            .expression_attribute_values(":now", number_value(now.timestamp()))
            .expression_attribute_values(":held", string_value(IdemState::InProgress.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match res {
            Ok(_) => return Ok(IdempotencyClaim::Claimed),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => c.item().cloned(),
                _ => return Err(dynamo(e)),
            },
        };
        let old = match old {
            Some(i) => i,
            // A service that does not return the item: read it, strongly consistent.
            None => match self.get_consistent(keys::idempotency(pk)).await? {
                Some(i) => i,
                None => return Ok(IdempotencyClaim::InProgress),
            },
        };
        let old: IdempotencyItem = parse(&old)?;
        if old.body_hash != body_hash {
            return Ok(IdempotencyClaim::Mismatch);
        }
        Ok(match (old.idem_state, old.status_code, old.result_json) {
            (IdemState::Done, Some(status), Some(body)) => IdempotencyClaim::Done { status, body },
            _ => IdempotencyClaim::InProgress,
        })
    }

    /// The update that stores a key's final response (alone, or inside a send's transaction).
    pub(super) fn idempotency_done(&self, r: &StoredResponse<'_>) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::idempotency(r.pk)))
            .update_expression("SET idemState = :done, statusCode = :sc, resultJson = :r")
            .expression_attribute_values(":done", string_value(IdemState::Done.as_str()))
            .expression_attribute_values(":sc", number_value(i64::from(r.status)))
            .expression_attribute_values(":r", string_value(r.body))
            .build()
            .map_err(StoreError::build)
    }

    /// Stores the final response of a request that ended without a send (a refusal).
    pub async fn complete_idempotency(&self, r: &StoredResponse<'_>) -> Result<(), StoreError> {
        let u = self.idempotency_done(r)?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(u.key))
            .set_update_expression(Some(u.update_expression))
            .set_expression_attribute_values(u.expression_attribute_values)
            .send()
            .await
            .map_err(dynamo)?;
        Ok(())
    }

    /// Frees a key whose request failed in a way worth retrying.
    pub async fn drop_idempotency(&self, pk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::idempotency(pk)))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(())
    }
}
