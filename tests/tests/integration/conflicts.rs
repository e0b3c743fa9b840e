//! What DynamoDB Local never does: transaction conflicts, throttling and
//! stale (eventually consistent) reads. The SDK client is mocked
//! (aws-smithy-mocks) to answer as DynamoDB does under contention.

use afterhours_adapters::model::{Channel, RecordKey};
use afterhours_adapters::store::{DynamoFailure, Store, StoreError, TRANSACT_RETRIES};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
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

/// A store whose transactions answer as `rule` says.
fn store_over(rule: &aws_smithy_mocks::Rule) -> Store {
    Store::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [rule]),
        "t",
    )
}

/// Marking a prompt against a DynamoDB whose transactions always fail with `code`.
async fn lasting(code: &'static str) -> (StoreError, usize) {
    let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .error(move || cancelled(&[code]))
        .repeatedly()
        .build();
    let store = store_over(&rule);
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    let err = store
        .mark_prompt_sent(&key(), "wamid.p", at)
        .await
        .unwrap_err();
    (err, rule.num_calls())
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
    let store = store_over(&rule);
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    afterhours_tests::mark_sent(&store, &key(), "a-1", ("t", "pt_BR"), "wamid.x", at)
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn a_lasting_conflict_is_an_error_after_the_retries() {
    let (err, calls) = lasting("TransactionConflict").await;
    assert_eq!(
        err.dynamo_kind(),
        Some(DynamoFailure::TransactionConflict),
        "{err}"
    );
    assert_eq!(calls, TRANSACT_RETRIES as usize + 1);
}

#[tokio::test]
async fn a_failed_condition_is_not_retried() {
    let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .error(|| cancelled(&["ConditionalCheckFailed", "None"]))
        .build();
    let store = store_over(&rule);
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

#[tokio::test]
async fn a_throttled_transaction_is_retried() {
    let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .error(|| cancelled(&["ThrottlingError", "None"]))
        .times(2)
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let store = store_over(&rule);
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    store.mark_prompt_sent(&key(), "wamid.p", at).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_503_with_retry_after() {
    let (err, calls) = lasting("ThrottlingError").await;
    assert_eq!(err.dynamo_kind(), Some(DynamoFailure::Throttled), "{err}");
    assert_eq!(calls, TRANSACT_RETRIES as usize + 1);
    let r = afterhours_adapters::http::ApiError::from(err).to_response();
    assert_eq!(r.status.as_u16(), 503);
    assert!(r.header("retry-after").is_some());
}

fn counter_item(sends: &[&str]) -> std::collections::HashMap<String, AttributeValue> {
    std::collections::HashMap::from([
        ("PK".to_string(), AttributeValue::S("Q#t1#a-1#5511".into())),
        ("SK".to_string(), AttributeValue::S("Q".into())),
        ("ver".to_string(), AttributeValue::N("7".into())),
        (
            "sends".to_string(),
            AttributeValue::L(
                sends
                    .iter()
                    .map(|s| AttributeValue::S(s.to_string()))
                    .collect(),
            ),
        ),
    ])
}

#[tokio::test]
async fn a_slot_is_given_back_even_when_an_eventually_consistent_read_would_not_show_it_yet() {
    // Right after the reservation, a replica may not have the new send yet:
    // an eventually consistent read answers the counter as it was before.
    let stale = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.consistent_read() != Some(true))
        .sequence()
        .output(|| {
            GetItemOutput::builder()
                .set_item(Some(counter_item(&[])))
                .build()
        })
        .repeatedly()
        .build();
    let fresh = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.consistent_read() == Some(true))
        .sequence()
        .output(|| {
            GetItemOutput::builder()
                .set_item(Some(counter_item(&["1763726400000#tok"])))
                .build()
        })
        .repeatedly()
        .build();
    let write = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.condition_expression()
                .is_some_and(|c| c.contains("ver = :ver"))
                && r.expression_attribute_values()
                    .and_then(|v| v.get(":s"))
                    .is_some_and(|s| s.as_l().is_ok_and(|l| l.is_empty()))
        })
        .sequence()
        .output(|| UpdateItemOutput::builder().build())
        .build();
    let store = Store::new(
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&stale, &fresh, &write]
        ),
        "t",
    );
    store.release("t1", "a-1", "5511", "tok").await.unwrap();
    assert_eq!(write.num_calls(), 1, "the slot was written back");
    assert_eq!(
        stale.num_calls(),
        0,
        "the decision read is strongly consistent"
    );
}
