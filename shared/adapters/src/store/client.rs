//! The table's client, [`Store`], its errors, and the request helpers every
//! item module of the store builds on.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, KeysAndAttributes, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;

pub const LSI: &str = "LSI1";
pub const PENDING_INDEX: &str = "GSI1";
/// How often a transaction cancelled by a conflict is tried again.
pub const TRANSACT_RETRIES: u32 = 4;

/// How a transaction ended when DynamoDB answered: applied, or refused by
/// failed conditions (one reason per item, with the item when asked for).
#[derive(Debug, Clone, PartialEq)]
pub enum Transaction {
    Applied,
    Refused(Vec<CancellationReason>),
}

/// What kind of failure DynamoDB reported, so callers can tell a retryable
/// one (throttling, a conflict) from a permanent one (validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamoFailure {
    Throttled,
    ConditionalCheck,
    Validation,
    TransactionConflict,
    Other,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("dynamodb ({kind:?}): {detail}")]
    Dynamo { kind: DynamoFailure, detail: String },
    /// Names the item by its kind and a hash of its key, never the key
    /// itself: keys carry customers' numbers, and this error is logged.
    #[error("stored item {kind} (key hash {key_hash}) is malformed: {reason}")]
    Malformed {
        kind: String,
        key_hash: String,
        reason: String,
    },
    #[error("the cursor is not one this service issued for this query")]
    BadCursor,
    #[error("phone number {0} is bound to another tenant")]
    ChannelTaken(String),
    #[error("WhatsApp Business Account {0} belongs to another tenant")]
    AccountTaken(String),
    #[error("WhatsApp Business Account {0} is not granted to this tenant")]
    NotGranted(String),
    #[error("{0} changed since it was read")]
    Stale(String),
    #[error("too much contention on {0}; try again")]
    Contention(String),
}

impl StoreError {
    /// The kind of DynamoDB failure, when it was one.
    pub fn dynamo_kind(&self) -> Option<DynamoFailure> {
        match self {
            StoreError::Dynamo { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// A failure that the same request may not meet again: throttling, a conflict.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.dynamo_kind(),
            Some(DynamoFailure::Throttled | DynamoFailure::TransactionConflict)
        )
    }

    pub(super) fn is_condition_failed(&self) -> bool {
        self.dynamo_kind() == Some(DynamoFailure::ConditionalCheck)
    }

    /// A request the SDK could not even build (a bug in this crate, not in the data).
    pub(super) fn build(e: aws_sdk_dynamodb::error::BuildError) -> Self {
        StoreError::Dynamo {
            kind: DynamoFailure::Validation,
            detail: e.to_string(),
        }
    }
}

/// The kind of an error code DynamoDB answers with (single operations), or of
/// a cancellation reason's code (transactions).
pub(super) fn failure_of_code(code: &str) -> Option<DynamoFailure> {
    Some(match code {
        "ProvisionedThroughputExceededException"
        | "ProvisionedThroughputExceeded"
        | "ThrottlingException"
        | "ThrottlingError"
        | "RequestLimitExceeded" => DynamoFailure::Throttled,
        "ConditionalCheckFailedException" | "ConditionalCheckFailed" => {
            DynamoFailure::ConditionalCheck
        }
        "ValidationException"
        | "ValidationError"
        | "ItemCollectionSizeLimitExceededException"
        | "ItemCollectionSizeLimitExceeded" => DynamoFailure::Validation,
        "TransactionConflictException"
        | "TransactionConflict"
        | "TransactionInProgressException" => DynamoFailure::TransactionConflict,
        _ => return None,
    })
}

/// Any SDK failure as a [`StoreError`] that keeps its kind.
pub(super) fn dynamo<E>(e: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let kind = e
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .and_then(failure_of_code)
        .unwrap_or(DynamoFailure::Other);
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
    StoreError::Dynamo { kind, detail }
}

pub(super) type TransactError = SdkError<
    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    aws_sdk_dynamodb::config::http::HttpResponse,
>;

/// A transaction's failure: a cancellation takes the strongest of its reasons
/// (a failed condition first: retrying cannot change it).
pub(super) fn transact_failure(e: TransactError) -> StoreError {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    let reasons: Vec<DynamoFailure> = match e.as_service_error() {
        Some(E::TransactionCanceledException(t)) => t
            .cancellation_reasons()
            .iter()
            .filter_map(|r| r.code().and_then(failure_of_code))
            .collect(),
        _ => vec![],
    };
    let strongest = [
        DynamoFailure::ConditionalCheck,
        DynamoFailure::Validation,
        DynamoFailure::Throttled,
        DynamoFailure::TransactionConflict,
    ]
    .into_iter()
    .find(|k| reasons.contains(k));
    match (dynamo(e), strongest) {
        (StoreError::Dynamo { detail, .. }, Some(kind)) => StoreError::Dynamo { kind, detail },
        (other, _) => other,
    }
}

/// A transaction cancelled by failed conditions, as an error.
pub(super) fn cancelled(reasons: &[CancellationReason]) -> StoreError {
    StoreError::Dynamo {
        kind: DynamoFailure::ConditionalCheck,
        detail: format!("transaction cancelled: {:?}", reason_codes(reasons)),
    }
}

/// The codes of a cancelled transaction's reasons, for messages.
pub(super) fn reason_codes(reasons: &[CancellationReason]) -> Vec<&str> {
    reasons.iter().map(|r| r.code().unwrap_or("?")).collect()
}

/// Whether item `i` of a cancelled transaction failed its condition.
pub(super) fn failed_condition(reasons: &[CancellationReason], i: usize) -> bool {
    reasons
        .get(i)
        .and_then(CancellationReason::code)
        .is_some_and(|c| c == "ConditionalCheckFailed")
}

/// `Ok(true)` when a conditional write applied, `Ok(false)` when its condition
/// was not met, an error for anything else.
pub(super) fn applied<T, E>(
    r: Result<T, SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match r.map_err(dynamo) {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e),
    }
}

pub(super) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(super) fn string_value(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(super) fn number_value(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An item's primary key (`PK`, `SK`).
pub(super) fn item_key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        ("PK".to_string(), string_value(pk)),
        ("SK".to_string(), string_value(sk)),
    ])
}

/// The one store every function uses.
#[derive(Clone)]
pub struct Store {
    pub(super) client: Client,
    pub(super) table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// [`Store::warm_up`] on the runtime, not waited for (see [`crate::boot::ColdStart::load`]).
    pub fn warm_up_in_background(&self) {
        let store = self.clone();
        tokio::spawn(async move { store.warm_up().await });
    }

    /// A cheap call that opens the connection, so the first request does not pay the TLS handshake.
    pub async fn warm_up(&self) {
        let _ = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
    }

    pub(super) async fn get(&self, k: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(k))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(out.item)
    }

    /// One item, strongly consistent.
    pub(super) async fn get_consistent(&self, k: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(k))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo)?;
        Ok(out.item)
    }

    /// Reads many items in one request (retrying unprocessed keys), in no particular order.
    pub async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        self.batch_get_with(keys, false).await
    }

    /// Like [`Store::batch_get`], strongly consistent: for reads that decide a conditional write.
    pub async fn batch_get_consistent(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        self.batch_get_with(keys, true).await
    }

    pub(super) async fn batch_get_with(
        &self,
        keys: Vec<Item>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut unique: Vec<Item> = Vec::new();
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        let mut out = Vec::new();
        for chunk in unique.chunks(100) {
            out.extend(self.batch_get_chunk(chunk.to_vec(), consistent).await?);
        }
        Ok(out)
    }

    /// At most 100 keys, with their unprocessed keys asked again after a backoff.
    pub(super) async fn batch_get_chunk(
        &self,
        keys: Vec<Item>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(consistent)
                .build()
                .map_err(StoreError::build)?,
        );
        let mut attempt = 0;
        while let Some(req) = pending.take() {
            let res = self
                .client
                .batch_get_item()
                .request_items(&self.table, req)
                .send()
                .await
                .map_err(dynamo)?;
            if let Some(mut r) = res.responses {
                out.extend(r.remove(&self.table).unwrap_or_default());
            }
            pending = res
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys.is_empty());
            attempt += 1;
            if pending.is_some() {
                if attempt > 8 {
                    return Err(StoreError::Contention("batch read".into()));
                }
                crate::retry::STORAGE.wait(attempt).await;
            }
        }
        Ok(out)
    }

    /// Runs a transaction, retrying with a jittered backoff when DynamoDB
    /// cancels it for a conflict with another transaction on the same items
    /// or for throttling (the SDK does not retry either for transactions).
    /// DynamoDB Local never does; AWS does under load, so this is tested with mocks.
    pub async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        match self.transact_or_reasons(items).await? {
            Transaction::Applied => Ok(()),
            Transaction::Refused(reasons) => Err(cancelled(&reasons)),
        }
    }

    /// Like [`Store::transact`], but a cancellation by failed conditions comes
    /// back as its reasons (one per item, with the item when it was asked for).
    pub(crate) async fn transact_or_reasons(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Transaction, StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
        let mut attempt = 0u32;
        loop {
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(e) = res else {
                return Ok(Transaction::Applied);
            };
            let reasons = match e.as_service_error() {
                Some(E::TransactionCanceledException(t)) => t.cancellation_reasons().to_vec(),
                _ => vec![],
            };
            match transact_failure(e) {
                e if attempt < TRANSACT_RETRIES && e.is_transient() => {
                    attempt += 1;
                    tracing::warn!(attempt, kind = ?e.dynamo_kind(), "transaction cancelled; retrying");
                    crate::retry::STORAGE.wait(attempt).await;
                }
                e if e.is_condition_failed() => return Ok(Transaction::Refused(reasons)),
                e => return Err(e),
            }
        }
    }

    /// Every item a query matches, following `LastEvaluatedKey` page by page.
    pub(super) async fn query_all(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let res = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamo)?;
            out.extend(res.items.unwrap_or_default());
            start = res.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// An item exactly as stored (tests and diagnostics).
    pub async fn raw_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get(item_key(pk, sk)).await
    }
}
