//! The DynamoDB round trips of a list page and a send, counted on the wire with an SDK
//! interceptor against DynamoDB Local: ingest of a known night ≤ 2, a list
//! page ≤ 2, a send ≤ 4, a page of the agent selector 4 whatever the agents' volume.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use afterhours_adapters::cursor::CursorSigner;
use afterhours_adapters::events::Publisher;
use afterhours_adapters::lambda::fixed_clock;
use afterhours_adapters::model::{ListFilter, ListQuery};
use afterhours_adapters::store::Store;
use afterhours_rules::callback::RequestedCallback;
use afterhours_tests::*;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use chrono::Duration;
use serde_json::json;

use crate::store::{inbound, key, t0};
use crate::webhook::{fixture, night, Fixture};

/// Counts requests that go out to DynamoDB.
#[derive(Debug, Clone, Default)]
struct RoundTrips(Arc<AtomicUsize>);

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl RoundTrips {
    fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
}

/// The fixture's table, through a client that counts its requests.
fn counted(f: &Fixture) -> (Store, RoundTrips) {
    counted_store(&f.store)
}

/// A store's table, through a client that counts its requests.
fn counted_store(store: &Store) -> (Store, RoundTrips) {
    let counter = RoundTrips::default();
    let conf = store
        .client()
        .config()
        .to_builder()
        .interceptor(counter.clone())
        .build();
    (
        Store::new(aws_sdk_dynamodb::Client::from_conf(conf), store.table()),
        counter,
    )
}

#[tokio::test]
async fn a_message_of_a_night_already_recorded_costs_two_round_trips() {
    let f = fixture().await;
    crate::dedup::set_up_long_ago(&f).await;
    let (store, trips) = counted(&f);
    let deps = webhook::Deps::new(
        store,
        f.graph.client(),
        APP_SECRET,
        "v",
        fixed_clock(night() + Duration::minutes(1)),
    );
    let phone = "5511999990077";
    let first = messages_payload(&f.pnid, &[("wamid.rt1", phone, night().timestamp(), None)]);
    assert_eq!(
        webhook::handle(&deps, webhook_post(&first)).await.status,
        200
    );
    trips.take();
    let second = messages_payload(
        &f.pnid,
        &[("wamid.rt2", phone, night().timestamp() + 60, None)],
    );
    assert_eq!(
        webhook::handle(&deps, webhook_post(&second)).await.status,
        200
    );
    assert_eq!(trips.take(), 2);
    assert_eq!(f.records("a-1").await[0].message_count, 2);
}

#[tokio::test]
async fn a_list_page_costs_two_round_trips() {
    let f = fixture().await;
    f.post(&messages_payload(
        &f.pnid,
        &[("wamid.l1", "5511999990078", night().timestamp(), None)],
    ))
    .await;
    let (store, trips) = counted(&f);
    let deps = contacts::Deps {
        store,
        cursors: CursorSigner::new(b"c").unwrap(),
        clock: fixed_clock(night()),
        rules: Default::default(),
        names: contacts::name_cache(),
    };
    let list = || {
        contacts::handle(
            &deps,
            api("GET", "/contacts", claims(&f.tenant, "a-1", "agent")),
        )
    };
    assert_eq!(list().await.status, 200);
    trips.take();
    let page = list().await;
    assert_eq!(page.json_body()["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        trips.take(),
        2,
        "one Query and one BatchGetItem once settings are cached"
    );
}

#[tokio::test]
async fn a_send_costs_three_round_trips_and_four_with_an_idempotency_key() {
    let f = fixture().await;
    f.store
        .put_templates(&f.tenant, &afterhours_tests::meta_templates())
        .await
        .unwrap();
    f.post(&messages_payload(
        &f.pnid,
        &[("wamid.s1", "5511999990079", night().timestamp(), None)],
    ))
    .await;
    let id = f.records("a-1").await[0].key.id();
    let (store, trips) = counted(&f);
    let (eb, bus) = (eventbridge().await, unique("bus"));
    afterhours_local::stack::ensure_bus(&eb, &bus)
        .await
        .unwrap();
    let deps = send::Deps {
        rules: Default::default(),
        store,
        graph: f.graph.client(),
        events: Publisher::new(eb, bus),
        clock: fixed_clock(night() + Duration::hours(9)),
    };
    let body = json!({"template": {"name": "retorno", "language": "pt_BR"}, "variables": {"1": "Ana", "2": "ontem"}});
    // The desk names its language (Accept-Language), so the answer's costs no read.
    let req = || {
        let mut r = with_body(
            api(
                "POST",
                &format!("/contacts/{id}/active-messages"),
                claims(&f.tenant, "a-1", "agent"),
            ),
            &body,
        );
        r.headers.insert("accept-language".into(), "pt-BR".into());
        r
    };
    assert_eq!(send::handle(&deps, req()).await.status, 200);
    assert_eq!(trips.take(), 3);
    let mut keyed = req();
    keyed.headers.insert("idempotency-key".into(), "k-1".into());
    assert_eq!(send::handle(&deps, keyed).await.status, 200);
    assert_eq!(trips.take(), 4);
}

/// One agent's week: `n` records, one a minute; every `sent_every`-th is marked sent.
async fn week_of_records(store: &Store, n: i64, sent_every: i64) {
    for i in 0..n {
        let k = key("t1", "a-1", &format!("55{i:04}"));
        let at = t0() + Duration::minutes(i);
        store
            .record_inbound(&inbound(&k, &format!("w{i}"), at, None))
            .await
            .unwrap();
        if i % sent_every == 0 {
            mark_sent(store, &k, "a-1", ("t", "en_US"), &format!("s{i}"), at)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_full_page_costs_one_read_when_dense_and_a_few_when_sparse() {
    let seeded = fresh_store().await;
    week_of_records(&seeded, 300, 100).await; // 3 sent: 55_0000, 55_0100, 55_0200
    let (store, trips) = counted_store(&seeded);
    let signer = CursorSigner::new(b"k").unwrap();
    let page = |filter: ListFilter, limit: i32, cursor: Option<String>| {
        let store = store.clone();
        let signer = signer.clone();
        async move {
            store
                .list_records(
                    &ListQuery {
                        filter,
                        limit,
                        cursor: cursor.as_deref(),
                        ..list_query("t1", "a-1", t0() + Duration::days(1))
                    },
                    &signer,
                )
                .await
                .unwrap()
        }
    };
    // Dense: exactly the page, in one read, with a cursor to the rest.
    let dense = page(ListFilter::default(), 5, None).await;
    assert_eq!(trips.take(), 1);
    assert_eq!(dense.items.len(), 5);
    assert_eq!(dense.items[0].key.customer, "550299");
    assert!(dense.next_cursor.is_some());
    // Sparse (3 of 300 match): the page is full although the first reads
    // hold none, and it takes a few reads, not one per item.
    let sent = ListFilter {
        message_sent: Some(true),
        ..Default::default()
    };
    let first = page(sent.clone(), 2, None).await;
    let reads = trips.take();
    let names: Vec<&str> = first
        .items
        .iter()
        .map(|r| r.key.customer.as_str())
        .collect();
    assert_eq!(names, ["550200", "550100"]);
    assert!((1..=3).contains(&reads), "{reads} reads");
    let cursor = first
        .next_cursor
        .clone()
        .expect("a full page offers a cursor");
    let rest = page(sent.clone(), 2, Some(cursor)).await;
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].key.customer, "550000");
    assert_eq!(rest.next_cursor, None, "the partition ended");
    // A filter nothing matches: an empty page without a cursor.
    let none = page(
        ListFilter {
            requested_callback: Some(RequestedCallback::Yes),
            ..Default::default()
        },
        1,
        None,
    )
    .await;
    assert!(none.items.is_empty());
    assert_eq!(none.next_cursor, None);
    // When a page ends exactly where the matches do, any cursor it offers
    // leads to an empty last page, which offers none.
    let exact = page(sent.clone(), 3, None).await;
    assert_eq!(exact.items.len(), 3);
    if let Some(c) = exact.next_cursor {
        let after = page(sent, 3, Some(c)).await;
        assert!(after.items.is_empty() && after.next_cursor.is_none());
    }
}

#[tokio::test]
async fn a_page_of_50_agents_costs_four_requests_whatever_their_volume() {
    let seeded = fresh_store().await;
    // 60 agents: the first with 40 records, the others with 2; every third
    // agent's first customer asked for a callback.
    let mut expected = std::collections::BTreeMap::new();
    for n in 0..60 {
        let agent = format!("a-{n:02}");
        let records = if n == 0 { 40 } else { 2 };
        for c in 0..records {
            let k = key("t1", &agent, &format!("5511{c:04}"));
            seeded
                .record_inbound(&inbound(&k, &format!("w-{agent}-{c}"), t0(), None))
                .await
                .unwrap();
            if c == 0 && n % 3 == 0 {
                let prompt = format!("p-{agent}");
                seeded.mark_prompt_sent(&k, &prompt, t0()).await.unwrap();
                seeded
                    .answer_callback(&afterhours_adapters::model::Tap {
                        tenant: "t1",
                        customer: &k.customer,
                        prompt_wamid: &prompt,
                        yes: true,
                        at: t0(),
                    })
                    .await
                    .unwrap();
            }
        }
        expected.insert(agent, (records, u32::from(n % 3 == 0)));
    }
    let (store, trips) = counted_store(&seeded);
    let deps = contacts::Deps {
        store,
        cursors: CursorSigner::new(b"c").unwrap(),
        clock: fixed_clock(t0() + Duration::hours(1)),
        rules: Default::default(),
        names: contacts::name_cache(),
    };
    let page = contacts::handle(
        &deps,
        with_query(
            api("GET", "/agents", claims("t1", "s-1", "supervisor")),
            &[("limit", "50")],
        ),
    )
    .await;
    let body = page.json_body();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    for it in items {
        let (contacts, pending) = expected[it["agentId"].as_str().unwrap()];
        assert_eq!(
            (it["contacts"].as_u64(), it["callbacksPending"].as_u64()),
            (Some(contacts), Some(u64::from(pending))),
            "{it}"
        );
    }
    assert_eq!(
        trips.take(),
        4,
        "the registry, the channels, the settings and the pending index: no read per agent"
    );
    let rest = contacts::handle(
        &deps,
        with_query(
            api("GET", "/agents", claims("t1", "s-1", "supervisor")),
            &[
                ("limit", "50"),
                ("cursor", body["nextCursor"].as_str().unwrap()),
            ],
        ),
    )
    .await;
    assert_eq!(rest.json_body()["items"].as_array().unwrap().len(), 10);
    assert_eq!(trips.take(), 3, "the settings are cached now");
}

#[tokio::test]
async fn a_contact_view_reads_the_tenants_settings_once_even_with_nothing_cached() {
    let f = fixture().await;
    f.post(&messages_payload(
        &f.pnid,
        &[("wamid.v1", "5511999990077", night().timestamp(), None)],
    ))
    .await;
    let id = f.records("a-1").await[0].key.id();
    let (store, trips) = counted(&f);
    let deps = contacts::Deps {
        store,
        cursors: CursorSigner::new(b"c").unwrap(),
        clock: fixed_clock(night()),
        // Nothing kept between requests: every read shows.
        rules: afterhours_adapters::tenant::RulesCache::new(std::time::Duration::ZERO),
        names: contacts::name_cache(),
    };
    // No Accept-Language: the tenant's settings decide the language, and the
    // same read serves the quota and the zone.
    let r = contacts::handle(
        &deps,
        api(
            "GET",
            &format!("/contacts/{id}"),
            claims(&f.tenant, "a-1", "agent"),
        ),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(
        trips.take(),
        3,
        "the settings, the record and the cap counter, each once"
    );
}
