//! Transaction conflicts, which DynamoDB Local never reports: the SDK client is
//! mocked (aws-smithy-mocks) to answer as DynamoDB does under contention.

use afterhours_adapters::model::{Channel, RecordKey};
use afterhours_adapters::store::{DynamoFailure, Store, StoreError, TRANSACT_RETRIES};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use chrono::{TimeZone, Utc};

fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
    TransactWriteItemsError::TransactionCanceledException(
        TransactionCanceledException::builder()
            .message(
                "Transaction cancelled, please refer cancellation reasons for specific reasons",
            )
            .set_cancellation_reasons(Some(
                codes
                    .iter()
                    .map(|c| CancellationReason::builder().code(*c).build())
                    .collect(),
            ))
            .build(),
    )
}

fn key() -> RecordKey {
    RecordKey {
        tenant: "t1".into(),
        agent: "a-1".into(),
        customer: "5511".into(),
        period: 1,
    }
}

#[tokio::test]
async fn marking_a_send_retries_a_transaction_conflict() {
    let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .error(|| cancelled(&["None", "TransactionConflict", "None"]))
        .times(2)
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let store = Store::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]),
        "t",
    );
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    afterhours_tests::mark_sent(&store, &key(), "a-1", ("t", "pt_BR"), "wamid.x", at)
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn a_lasting_conflict_is_an_error_after_the_retries() {
    let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .error(|| cancelled(&["TransactionConflict"]))
        .repeatedly()
        .build();
    let store = Store::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]),
        "t",
    );
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    let err = store
        .mark_prompt_sent(&key(), "wamid.p", at)
        .await
        .unwrap_err();
    assert_eq!(
        err.dynamo_kind(),
        Some(DynamoFailure::TransactionConflict),
        "{err}"
    );
    assert_eq!(rule.num_calls(), TRANSACT_RETRIES as usize + 1);
}

#[tokio::test]
async fn a_failed_condition_is_not_retried() {
    let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .error(|| cancelled(&["ConditionalCheckFailed", "None"]))
        .build();
    let store = Store::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]),
        "t",
    );
    let channel = Channel {
        phone_number_id: "555".into(),
        tenant_id: "t2".into(),
        waba_id: "W".into(),
        display_phone_number: "+1".into(),
        default_agent_id: "b-1".into(),
    };
    let err = store.put_channel(&channel).await.unwrap_err();
    assert!(matches!(err, StoreError::ChannelTaken(_)), "{err}");
    assert_eq!(rule.num_calls(), 1);
}
