//! The store's lists against DynamoDB Local: order, filters, signed cursors
//! and expiry.

use afterhours_adapters::cursor::CursorSigner;
use afterhours_adapters::model::{ListFilter, ListQuery, Tap};
use afterhours_adapters::store::StoreError;
use afterhours_rules::callback::RequestedCallback;
use afterhours_tests::{fresh_store, list_query};
use chrono::Duration;

use crate::store::{inbound, key, t0};

#[tokio::test]
async fn the_list_pages_newest_first_with_filters_and_signed_cursors() {
    let store = fresh_store().await;
    let signer = CursorSigner::new(b"k").unwrap();
    for i in 0..5 {
        let k = key("t1", "a-1", &format!("55{i}"));
        store
            .record_inbound(&inbound(
                &k,
                &format!("w{i}"),
                t0() + Duration::minutes(i),
                None,
            ))
            .await
            .unwrap();
    }
    store
        .record_inbound(&inbound(&key("t1", "a-2", "5599"), "wx", t0(), None))
        .await
        .unwrap();
    let p1 = store
        .list_records(
            &ListQuery {
                limit: 2,
                ..list_query("t1", "a-1", t0())
            },
            &signer,
        )
        .await
        .unwrap();
    let customers: Vec<&str> = p1.items.iter().map(|r| r.key.customer.as_str()).collect();
    assert_eq!(customers, ["554", "553"]);
    let cursor = p1.next_cursor.clone().unwrap();
    let p2 = store
        .list_records(
            &ListQuery {
                limit: 2,
                cursor: Some(&cursor),
                ..list_query("t1", "a-1", t0())
            },
            &signer,
        )
        .await
        .unwrap();
    assert_eq!(
        p2.items
            .iter()
            .map(|r| r.key.customer.as_str())
            .collect::<Vec<_>>(),
        ["552", "551"]
    );
    let p3 = store
        .list_records(
            &ListQuery {
                limit: 2,
                cursor: p2.next_cursor.as_deref(),
                ..list_query("t1", "a-1", t0())
            },
            &signer,
        )
        .await
        .unwrap();
    assert_eq!(p3.items.len(), 1);
    // A cursor of a-1 cannot read a-2 or another tenant, and a changed cursor is refused.
    for (tenant, agent, c) in [
        ("t1", "a-2", cursor.clone()),
        ("t2", "a-1", cursor.clone()),
        ("t1", "a-1", format!("x{cursor}")),
        ("t1", "a-1", cursor.replace('.', ".A")),
    ] {
        let err = store
            .list_records(
                &ListQuery {
                    limit: 2,
                    cursor: Some(&c),
                    ..list_query(tenant, agent, t0())
                },
                &signer,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::BadCursor),
            "{tenant} {agent}: {err}"
        );
    }
    let other_filter = ListFilter {
        message_sent: Some(false),
        ..Default::default()
    };
    assert!(matches!(
        store
            .list_records(
                &ListQuery {
                    filter: other_filter,
                    order: Default::default(),
                    limit: 2,
                    cursor: Some(&cursor),
                    ..list_query("t1", "a-1", t0())
                },
                &signer
            )
            .await
            .unwrap_err(),
        StoreError::BadCursor
    ));
    let yes = ListFilter {
        requested_callback: Some(RequestedCallback::Yes),
        ..Default::default()
    };
    assert!(store
        .list_records(
            &ListQuery {
                filter: yes,
                order: Default::default(),
                ..list_query("t1", "a-1", t0())
            },
            &signer
        )
        .await
        .unwrap()
        .items
        .is_empty());
    let na = ListFilter {
        requested_callback: Some(RequestedCallback::NotAsked),
        message_sent: Some(false),
        handled: None,
    };
    assert_eq!(
        store
            .list_records(
                &ListQuery {
                    filter: na,
                    order: Default::default(),
                    ..list_query("t1", "a-1", t0())
                },
                &signer
            )
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    assert!(store
        .list_records(&list_query("t2", "a-1", t0()), &signer)
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test]
async fn expired_records_are_never_returned() {
    let store = fresh_store().await;
    let signer = CursorSigner::new(b"k").unwrap();
    let k = key("t1", "a-1", "5511");
    store
        .record_inbound(&inbound(&k, "w1", t0(), None))
        .await
        .unwrap();
    store.mark_prompt_sent(&k, "p", t0()).await.unwrap();
    store
        .answer_callback(&Tap {
            tenant: "t1",
            customer: "5511",
            prompt_wamid: "p",
            yes: true,
            at: t0(),
        })
        .await
        .unwrap();
    let later = t0() + Duration::days(7);
    assert!(store
        .get_record(&k, later - Duration::seconds(1))
        .await
        .unwrap()
        .is_some());
    assert!(store.get_record(&k, later).await.unwrap().is_none());
    assert!(store
        .list_records(&list_query("t1", "a-1", later), &signer)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(store
        .pending_callbacks("t1", later)
        .await
        .unwrap()
        .is_empty());
}
