//! The publisher's retry path, with the EventBridge client mocked
//! (aws-smithy-mocks) to fail entries the way `FailedEntryCount` reports them.

use afterhours_adapters::events::{Event, Publisher};
use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use serde_json::json;

fn ok(id: &str) -> PutEventsResultEntry {
    PutEventsResultEntry::builder().event_id(id).build()
}

fn failed() -> PutEventsResultEntry {
    PutEventsResultEntry::builder()
        .error_code("InternalFailure")
        .error_message("try again")
        .build()
}

fn answer(entries: Vec<PutEventsResultEntry>) -> PutEventsOutput {
    let failed = entries.iter().filter(|e| e.error_code.is_some()).count();
    PutEventsOutput::builder()
        .failed_entry_count(failed as i32)
        .set_entries(Some(entries))
        .build()
}

/// A publisher whose `PutEvents` answers as `rule` says.
pub fn mocked_publisher(rule: &Rule) -> Publisher {
    Publisher::new(
        mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [rule]),
        "bus",
    )
}

/// `PutEvents` fails the first entry once, then accepts everything.
pub fn fails_once() -> Rule {
    mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .output(|| answer(vec![failed()]))
        .output(|| answer(vec![ok("e-1")]))
        .build()
}

fn event(n: usize) -> Event {
    Event {
        detail_type: "Test".into(),
        detail: json!({ "n": n }),
    }
}

#[tokio::test]
async fn a_failed_entry_is_sent_again_alone() {
    let rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .output(|| answer(vec![ok("e-0"), failed(), ok("e-2")]))
        .output(|| answer(vec![ok("e-1")]))
        .build();
    let out = mocked_publisher(&rule)
        .publish(&[event(0), event(1), event(2)])
        .await;
    assert_eq!(out.published, 3);
    assert!(out.failed.is_empty(), "{out:?}");
    assert_eq!((out.attempts, rule.num_calls()), (2, 2));
}

#[tokio::test]
async fn an_entry_that_keeps_failing_is_reported_after_the_last_attempt() {
    let rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .output(|| answer(vec![ok("e-0"), failed()]))
        .output(|| answer(vec![failed()]))
        .times(3)
        .build();
    let out = mocked_publisher(&rule).publish(&[event(0), event(1)]).await;
    assert_eq!(out.published, 1);
    assert_eq!(
        out.failed,
        vec![("Test".to_string(), "InternalFailure: try again".to_string())]
    );
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test]
async fn eleven_events_take_two_calls_of_at_most_ten() {
    let rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|r| r.entries().len() <= 10)
        .sequence()
        .output(|| answer((0..10).map(|i| ok(&i.to_string())).collect()))
        .times(2)
        .build();
    let out = mocked_publisher(&rule)
        .publish(&(0..11).map(event).collect::<Vec<_>>())
        .await;
    assert_eq!((rule.num_calls(), out.attempts), (2, 2));
    // The mock answers ten results to the one-entry call too: only the first counts.
    assert_eq!(out.published, 11);
}
