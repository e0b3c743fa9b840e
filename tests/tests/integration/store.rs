//! Every store operation against DynamoDB Local: the stored item, the returned
//! value, concurrency, expiry and tenant isolation.

use afterhours_adapters::model::{
    Channel, DeliveryUpdate, Inbound, IngestOutcome, RecordKey, SendTarget, Tap, TapOutcome,
    TemplateRef,
};
use afterhours_adapters::store::StoreError;
use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::webhook::{DeliveryError, DeliveryStatus};
use afterhours_tests::{bind_channel, fresh_store};
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::join_all;
use serde_json::json;

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap()
}

pub(crate) fn key(tenant: &str, agent: &str, customer: &str) -> RecordKey {
    RecordKey {
        tenant: tenant.into(),
        agent: agent.into(),
        customer: customer.into(),
        period: t0().timestamp() - 3600,
    }
}

pub(crate) fn inbound(
    k: &RecordKey,
    wamid: &str,
    at: DateTime<Utc>,
    name: Option<&str>,
) -> Inbound {
    Inbound {
        key: k.clone(),
        channel: "PN1".into(),
        wamid: wamid.into(),
        at,
        wa_id: Some(k.customer.clone()),
        user_id: None,
        name: name.map(String::from),
        settled: true,
    }
}

pub(crate) fn n(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    k: &str,
) -> i64 {
    item[k].as_n().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_number_binds_to_one_tenant_only() {
    let store = fresh_store().await;
    let c = |tenant: &str, agent: &str| Channel {
        phone_number_id: "555".into(),
        tenant_id: tenant.into(),
        waba_id: "W".into(),
        display_phone_number: "+1 555".into(),
        default_agent_id: agent.into(),
    };
    store.grant_account("t1", "W").await.unwrap();
    store.put_channel(&c("t1", "a-1")).await.unwrap();
    store.put_channel(&c("t1", "a-2")).await.unwrap();
    let err = store.put_channel(&c("t2", "b-1")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::ChannelTaken(ref n) if n == "555"),
        "{err}"
    );
    let stored = store.get_channel("555").await.unwrap().unwrap();
    assert_eq!(
        (stored.tenant_id.as_str(), stored.default_agent_id.as_str()),
        ("t1", "a-2")
    );
    assert_eq!(store.get_channel("556").await.unwrap(), None);
    assert_eq!(store.tenants().await.unwrap(), vec!["t1".to_string()]);
}

#[tokio::test]
async fn settings_and_templates_round_trip_per_tenant() {
    let store = fresh_store().await;
    store
        .put_settings("t1", &json!({"timezone": "UTC"}))
        .await
        .unwrap();
    store
        .put_templates("t1", &json!({"data": [1]}))
        .await
        .unwrap();
    assert_eq!(
        store.get_settings("t1").await.unwrap(),
        Some(json!({"timezone": "UTC"}))
    );
    assert_eq!(
        (
            store.get_settings("t1").await.unwrap(),
            store.get_templates("t1").await.unwrap().any
        ),
        (Some(json!({"timezone": "UTC"})), Some(json!({"data": [1]})))
    );
    assert_eq!(store.get_settings("t2").await.unwrap(), None);
    assert_eq!(
        store.get_templates("t2").await.unwrap(),
        afterhours_adapters::store::TemplateBook::default()
    );
    assert_eq!(store.tenants().await.unwrap(), vec!["t1".to_string()]);
}

#[tokio::test]
async fn recording_creates_adds_and_deduplicates() {
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    assert_eq!(
        store
            .record_inbound(&inbound(&k, "w1", t0(), Some("Maria")))
            .await
            .unwrap(),
        IngestOutcome::Created
    );
    assert_eq!(
        store
            .record_inbound(&inbound(&k, "w2", t0() + Duration::minutes(5), None))
            .await
            .unwrap(),
        IngestOutcome::Added
    );
    assert_eq!(
        store
            .record_inbound(&inbound(&k, "w1", t0(), Some("Other")))
            .await
            .unwrap(),
        IngestOutcome::Duplicate
    );
    let item = store.raw_record(&k).await.unwrap().unwrap();
    assert_eq!(n(&item, "msgCount"), 2);
    assert_eq!(n(&item, "firstAt"), t0().timestamp());
    assert_eq!(
        n(&item, "lastAt"),
        (t0() + Duration::minutes(5)).timestamp()
    );
    assert_eq!(
        n(&item, "expiresAt"),
        (t0() + Duration::days(7)).timestamp()
    );
    assert_eq!(
        item["profileName"].as_s().unwrap(),
        "Maria",
        "a message without a name keeps the latest name"
    );
    assert_eq!(item["requestedCallback"].as_s().unwrap(), "n/a");
    let r = store.get_record(&k, t0()).await.unwrap().unwrap();
    assert_eq!(
        (r.message_count, r.name.as_deref(), r.message_sent),
        (2, Some("Maria"), false)
    );
}

#[tokio::test]
async fn an_earlier_message_arriving_late_keeps_first_and_last_right() {
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    store
        .record_inbound(&inbound(
            &k,
            "w2",
            t0() + Duration::minutes(10),
            Some("Late"),
        ))
        .await
        .unwrap();
    assert_eq!(
        store
            .record_inbound(&inbound(&k, "w1", t0(), Some("Early")))
            .await
            .unwrap(),
        IngestOutcome::Added
    );
    let r = store.get_record(&k, t0()).await.unwrap().unwrap();
    assert_eq!(r.first_at, t0());
    assert_eq!(r.last_at, t0() + Duration::minutes(10));
    assert_eq!(r.name.as_deref(), Some("Late"));
    assert_eq!(r.expires_at, t0() + Duration::days(7));
    assert_eq!(r.message_count, 2);
}

#[tokio::test]
async fn twenty_concurrent_deliveries_of_one_message_count_once_and_claim_once() {
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    let m = inbound(&k, "wamid.same", t0(), Some("Maria"));
    let outcomes: Vec<IngestOutcome> = join_all((0..20).map(|_| store.record_inbound(&m)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == IngestOutcome::Created)
            .count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == IngestOutcome::Duplicate)
            .count(),
        19
    );
    assert_eq!(
        store
            .get_record(&k, t0())
            .await
            .unwrap()
            .unwrap()
            .message_count,
        1
    );
}

#[tokio::test]
async fn concurrent_first_messages_of_a_night_create_the_record_once() {
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    let msgs: Vec<Inbound> = (0..20)
        .map(|i| inbound(&k, &format!("w{i}"), t0() + Duration::seconds(i), None))
        .collect();
    let outcomes: Vec<IngestOutcome> = join_all(msgs.iter().map(|m| store.record_inbound(m)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == IngestOutcome::Created)
            .count(),
        1,
        "one prompt claim"
    );
    assert_eq!(
        store
            .get_record(&k, t0())
            .await
            .unwrap()
            .unwrap()
            .message_count,
        20
    );
}

#[tokio::test]
async fn the_callback_answer_moves_the_record_in_and_out_of_the_pending_index() {
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    store
        .record_inbound(&inbound(&k, "w1", t0(), None))
        .await
        .unwrap();
    store
        .mark_prompt_sent(&k, "wamid.prompt", t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .get_record(&k, t0())
            .await
            .unwrap()
            .unwrap()
            .requested_callback,
        RequestedCallback::Pending
    );
    let tap = t0() + Duration::minutes(2);
    let answer = |tenant: &'static str, yes: bool, at| {
        let store = store.clone();
        async move {
            store
                .answer_callback(&Tap {
                    tenant,
                    customer: "5511",
                    prompt_wamid: "wamid.prompt",
                    yes,
                    at,
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(answer("t1", true, tap).await, TapOutcome::Answered);
    assert_eq!(
        answer("t1", true, tap).await,
        TapOutcome::Unchanged,
        "a redelivered tap changes nothing"
    );
    assert_eq!(
        answer("t2", false, tap + Duration::minutes(1)).await,
        TapOutcome::Unchanged,
        "another tenant cannot answer"
    );
    let pending = store.pending_callbacks("t1", t0()).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].requested_callback, RequestedCallback::Yes);
    assert!(store
        .pending_callbacks("t2", t0())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        answer("t1", false, tap + Duration::minutes(1)).await,
        TapOutcome::Answered
    );
    assert!(store
        .pending_callbacks("t1", t0())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .get_record(&k, t0())
            .await
            .unwrap()
            .unwrap()
            .requested_callback,
        RequestedCallback::No
    );
    let unknown = Tap {
        tenant: "t1",
        customer: "5511",
        prompt_wamid: "wamid.unknown",
        yes: true,
        at: tap,
    };
    assert_eq!(
        store.answer_callback(&unknown).await.unwrap(),
        TapOutcome::Unchanged
    );
}

#[tokio::test]
async fn a_sent_record_leaves_the_pending_index_and_remembers_the_sender() {
    let started = Utc::now().timestamp();
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    store
        .record_inbound(&inbound(&k, "w1", t0(), None))
        .await
        .unwrap();
    store
        .mark_prompt_sent(&k, "wamid.prompt", t0())
        .await
        .unwrap();
    store
        .answer_callback(&Tap {
            tenant: "t1",
            customer: "5511",
            prompt_wamid: "wamid.prompt",
            yes: true,
            at: t0(),
        })
        .await
        .unwrap();
    afterhours_tests::mark_sent(
        &store,
        &k,
        "a-1",
        ("retorno", "pt_BR"),
        "wamid.out",
        t0() + Duration::hours(8),
    )
    .await
    .unwrap();
    assert!(store
        .pending_callbacks("t1", t0())
        .await
        .unwrap()
        .is_empty());
    let r = store.get_record(&k, t0()).await.unwrap().unwrap();
    assert!(r.message_sent);
    assert_eq!(r.sent_by.as_deref(), Some("a-1"));
    assert_eq!(
        r.sent_template,
        Some(TemplateRef {
            name: "retorno".into(),
            language: "pt_BR".into()
        })
    );
    assert_eq!(r.sent_wamid.as_deref(), Some("wamid.out"));
    assert_eq!(
        r.delivery.as_ref().unwrap().status,
        DeliveryStatus::Accepted
    );
    let sent_at = t0() + Duration::hours(8);
    let agent_at = |tenant: &'static str, at: DateTime<Utc>| {
        let store = store.clone();
        async move { store.agent_for_customer(tenant, "5511", at).await.unwrap() }
    };
    assert_eq!(agent_at("t1", sent_at).await.as_deref(), Some("a-1"));
    assert_eq!(agent_at("t2", sent_at).await, None);
    // The customer → agent memory lasts 30 days after the last active
    // message; the item 8 more, so the webhook sees that it ran out.
    let item = store.raw_item("T#t1", "CUST#5511").await.unwrap().unwrap();
    assert_eq!(
        n(&item, "agentUntil"),
        (sent_at + Duration::days(30)).timestamp()
    );
    assert_eq!(
        n(&item, "expiresAt"),
        (sent_at + Duration::days(38)).timestamp()
    );
    // When it was written, by our clock (the webhook compares it with messages' times).
    let written = n(&item, "since");
    assert!((started..=Utc::now().timestamp()).contains(&written));
    assert_eq!(
        agent_at("t1", sent_at + Duration::days(30) + Duration::seconds(1)).await,
        None,
        "forgotten even before TTL deletes it"
    );
}

#[tokio::test]
async fn delivery_states_never_move_backwards() {
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    store
        .record_inbound(&inbound(&k, "w1", t0(), None))
        .await
        .unwrap();
    afterhours_tests::mark_sent(&store, &k, "a-1", ("x", "pt_BR"), "wamid.out", t0())
        .await
        .unwrap();
    let at = t0() + Duration::minutes(1);
    let apply = |tenant: &'static str, wamid: &'static str, st: DeliveryStatus| {
        let store = store.clone();
        async move {
            store
                .update_delivery(&status(tenant, wamid, st, at))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        apply("t1", "wamid.out", DeliveryStatus::Delivered).await,
        Some(true)
    );
    assert_eq!(
        apply("t1", "wamid.out", DeliveryStatus::Sent).await,
        Some(false)
    );
    assert_eq!(
        apply("t1", "wamid.out", DeliveryStatus::Delivered).await,
        Some(false)
    );
    assert_eq!(
        apply("t2", "wamid.out", DeliveryStatus::Read).await,
        None,
        "another tenant's status is ignored"
    );
    assert_eq!(
        apply("t1", "wamid.prompt-or-unknown", DeliveryStatus::Read).await,
        None
    );
    assert_eq!(
        store
            .get_record(&k, t0())
            .await
            .unwrap()
            .unwrap()
            .delivery
            .unwrap()
            .status,
        DeliveryStatus::Delivered
    );
    assert!(store
        .update_delivery(&DeliveryUpdate {
            error: Some(DeliveryError {
                code: 131026,
                title: "Message undeliverable".into()
            }),
            ..status("t1", "wamid.out", DeliveryStatus::Failed, at)
        })
        .await
        .unwrap()
        .unwrap());
    let d = store
        .get_record(&k, t0())
        .await
        .unwrap()
        .unwrap()
        .delivery
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.error),
        (
            "failed",
            Some(DeliveryError {
                code: 131026,
                title: "Message undeliverable".into()
            })
        )
    );
}

#[tokio::test]
async fn another_tenants_ids_find_nothing() {
    let store = fresh_store().await;
    let k = key("t1", "a-1", "5511");
    store
        .record_inbound(&inbound(&k, "w1", t0(), None))
        .await
        .unwrap();
    let foreign = RecordKey::from_id("t2", &k.id()).unwrap();
    assert!(store.get_record(&foreign, t0()).await.unwrap().is_none());
    let ctx = store
        .send_context("t2", &SendTarget::Record(foreign.clone()), "a-1", t0())
        .await
        .unwrap();
    assert!(ctx.record.is_none());
    // A direct send names a channel: another tenant's is not found either.
    bind_channel(
        &store,
        &Channel {
            phone_number_id: "PN-t1".into(),
            tenant_id: "t1".into(),
            waba_id: "1".into(),
            display_phone_number: "+1".into(),
            default_agent_id: "a-1".into(),
        },
    )
    .await;
    for (tenant, found) in [("t2", false), ("t1", true)] {
        let direct = SendTarget::Direct {
            channel: "PN-t1".into(),
            customer: "5511".into(),
        };
        let ctx = store
            .send_context(tenant, &direct, "a-1", t0())
            .await
            .unwrap();
        assert_eq!(ctx.channel.is_some(), found, "{tenant}");
    }
    assert!(store.get_record(&k, t0()).await.unwrap().is_some());
}

pub(crate) fn status<'a>(
    tenant: &'a str,
    wamid: &'a str,
    status: DeliveryStatus,
    at: DateTime<Utc>,
) -> DeliveryUpdate<'a> {
    DeliveryUpdate {
        tenant,
        wamid,
        status,
        at,
        error: None,
    }
}
