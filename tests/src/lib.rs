//! Support for the integration tests: real clients for DynamoDB Local and the
//! moto server (started by `make test`), a fresh table per test, the WhatsApp
//! sandbox on an ephemeral port, signed webhooks and API requests as API
//! Gateway builds them, and a queue that sees what reaches the bus.

use std::collections::HashMap;
use std::sync::Arc;

use afterhours_adapters::config::{aws_clients, Config};
use afterhours_adapters::http::ApiRequest;
use afterhours_adapters::http::Method;
use afterhours_adapters::store::Store;
use afterhours_adapters::table::{ensure_table_with, Expired};
use afterhours_local::sandbox::Sandbox;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub const APP_SECRET: &str = "test-app-secret";
pub const GRAPH_TOKEN: &str = "test-graph-token";

fn endpoint_check() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok()
            && std::env::var("AWS_ENDPOINT_URL_EVENTBRIDGE").is_ok(),
        "these tests talk to DynamoDB Local and moto: run them with `make test`, which starts both"
    );
}

/// The configuration the functions would read, with a table of our own.
pub fn config(table: &str) -> Config {
    endpoint_check();
    Config {
        table: table.to_string(),
        event_bus: "afterhours-test".into(),
        region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        graph_base_url: String::new(),
        graph_version: "v23.0".into(),
        graph_timeout: std::time::Duration::from_secs(5),
        extra_roots: None,
        rules_cache: afterhours_adapters::config::RULES_TTL,
    }
}

/// An HTTP client on the project's TLS stack (reqwest brings no crypto provider).
pub fn http_client() -> reqwest::Client {
    afterhours_adapters::tls::reqwest_client().expect("an HTTP client")
}

/// A unique name for tables, tenants, buses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A store on a new, empty table in DynamoDB Local. Its expired items are
/// kept: the tests' nights are fixed days the calendar has passed, and
/// DynamoDB Local would delete their records mid-test (every read filters
/// expiry, which is what the tests check).
pub async fn fresh_store() -> Store {
    let table = unique("t");
    let (dynamo, _) = aws_clients(&config(&table)).await.expect("the AWS clients");
    ensure_table_with(&dynamo, &table, Expired::Kept)
        .await
        .expect("create the table in DynamoDB Local");
    Store::new(dynamo, table)
}

/// Binds a number as an onboarded tenant has it: the operator's grant of its
/// account first, then the binding.
pub async fn bind_channel(store: &Store, c: &afterhours_adapters::model::Channel) {
    store
        .grant_account(&c.tenant_id, &c.waba_id)
        .await
        .expect("grant the business account");
    store.put_channel(c).await.expect("bind the channel");
}

pub use afterhours_local::loadbench::set_up_at;

/// A Cognito client for moto (`AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`, set by `make test`).
pub async fn cognito() -> aws_sdk_cognitoidentityprovider::Client {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER").is_ok(),
        "these tests talk to moto's Cognito: run them with `make test`"
    );
    let shared = afterhours_adapters::config::aws_config(&config("unused"))
        .await
        .expect("the AWS configuration");
    aws_sdk_cognitoidentityprovider::Client::new(&shared)
}

pub async fn eventbridge() -> aws_sdk_eventbridge::Client {
    aws_clients(&config("unused"))
        .await
        .expect("the AWS clients")
        .1
}

/// The WhatsApp sandbox on an ephemeral loopback port.
pub struct GraphStandIn {
    pub sandbox: Arc<Sandbox>,
    pub base_url: String,
}

impl GraphStandIn {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let sandbox = Arc::new(Sandbox::new(GRAPH_TOKEN));
        afterhours_local::stack::spawn_sandbox(listener, sandbox.clone());
        GraphStandIn { sandbox, base_url }
    }

    pub fn client(&self) -> afterhours_adapters::graph::GraphClient {
        afterhours_adapters::graph::GraphClient::new(
            &self.base_url,
            "v23.0",
            GRAPH_TOKEN,
            std::time::Duration::from_secs(5),
        )
        .expect("graph client")
    }

    /// What was sent to one recipient.
    pub fn sent_to(&self, to: &str) -> Vec<Value> {
        self.sandbox
            .sent()
            .into_iter()
            .filter(|m| m["body"]["to"] == to)
            .collect()
    }
}

/// `sha256=<hex>` of the body with the app secret.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A signed `POST /webhook` as API Gateway hands it over.
pub fn webhook_post(body: &[u8]) -> ApiRequest {
    ApiRequest {
        method: Method::POST,
        path: "/webhook".into(),
        headers: HashMap::from([("x-hub-signature-256".to_string(), sign(APP_SECRET, body))]),
        body: body.to_vec(),
        ..Default::default()
    }
}

/// The JWT claims API Gateway passes for (tenant, agent, role).
pub fn claims(tenant: &str, agent: &str, role: &str) -> HashMap<String, String> {
    HashMap::from([
        ("sub".to_string(), agent.to_string()),
        ("custom:tenant_id".to_string(), tenant.to_string()),
        ("cognito:groups".to_string(), format!("[{role}]")),
    ])
}

/// An authorized API request.
pub fn api(method: &str, path: &str, claims: HashMap<String, String>) -> ApiRequest {
    let mut path_params = HashMap::new();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["contacts", id, ..] => {
            path_params.insert("id".to_string(), id.to_string());
        }
        ["channels", pn] => {
            path_params.insert("phoneNumberId".to_string(), pn.to_string());
        }
        _ => {}
    }
    ApiRequest {
        method: Method::from_bytes(method.as_bytes()).expect("a test names a real method"),
        path: path.into(),
        path_params,
        claims,
        ..Default::default()
    }
}

pub fn with_body(mut r: ApiRequest, body: &Value) -> ApiRequest {
    r.body = body.to_string().into_bytes();
    r
}

pub fn with_query(mut r: ApiRequest, pairs: &[(&str, &str)]) -> ApiRequest {
    r.query = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    r
}

/// A webhook body with one message per tuple (wamid, wa_id, unix time, name).
pub fn messages_payload(pnid: &str, msgs: &[(&str, &str, i64, Option<&str>)]) -> Vec<u8> {
    let contacts: Vec<Value> = msgs
        .iter()
        .map(|(_, from, _, name)| match name {
            Some(n) => json!({"wa_id": from, "profile": {"name": n}}),
            None => json!({"wa_id": from}),
        })
        .collect();
    let messages: Vec<Value> = msgs
        .iter()
        .map(|(id, from, ts, _)| json!({"from": from, "id": id, "timestamp": ts.to_string(), "type": "text", "text": {"body": "hi"}}))
        .collect();
    envelope(pnid, json!({"contacts": contacts, "messages": messages}))
}

/// Wraps a `value` into a whole webhook body.
pub fn envelope(pnid: &str, mut value: Value) -> Vec<u8> {
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": "15550001111", "phone_number_id": pnid});
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]})
        .to_string()
        .into_bytes()
}

/// An SQS queue in moto that receives everything this project puts on a bus,
/// through an EventBridge rule: what a subscriber of the bus would see.
pub struct BusWatcher {
    http: reqwest::Client,
    endpoint: String,
    queue_url: String,
}

impl BusWatcher {
    async fn sqs(http: &reqwest::Client, endpoint: &str, action: &str, body: Value) -> Value {
        let res = http
            .post(endpoint)
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0")
            .body(body.to_string())
            .send()
            .await
            .expect("moto SQS answers");
        let text = res.text().await.unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("moto SQS {action}: {text}"))
    }

    /// Creates the bus, a queue and a rule sending `source = afterhours` events to the queue.
    pub async fn start(eb: &aws_sdk_eventbridge::Client, bus: &str) -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_EVENTBRIDGE").expect("moto endpoint");
        let http = http_client();
        afterhours_local::stack::ensure_bus(eb, bus)
            .await
            .expect("bus");
        let q = Self::sqs(
            &http,
            &endpoint,
            "CreateQueue",
            json!({"QueueName": unique("q")}),
        )
        .await;
        let queue_url = q["QueueUrl"].as_str().expect("queue url").to_string();
        let a = Self::sqs(
            &http,
            &endpoint,
            "GetQueueAttributes",
            json!({"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]}),
        )
        .await;
        let arn = a["Attributes"]["QueueArn"]
            .as_str()
            .expect("queue arn")
            .to_string();
        let rule = unique("r");
        eb.put_rule()
            .name(&rule)
            .event_bus_name(bus)
            .event_pattern(json!({"source": [afterhours_adapters::events::SOURCE]}).to_string())
            .send()
            .await
            .expect("rule");
        eb.put_targets()
            .rule(&rule)
            .event_bus_name(bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("q")
                    .arn(arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("target");
        BusWatcher {
            http,
            endpoint,
            queue_url,
        }
    }

    /// Every event the queue holds now (EventBridge envelopes).
    pub async fn drain(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for _ in 0..20 {
            let r = Self::sqs(
                &self.http,
                &self.endpoint,
                "ReceiveMessage",
                json!({"QueueUrl": self.queue_url, "MaxNumberOfMessages": 10}),
            )
            .await;
            let msgs = r["Messages"].as_array().cloned().unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                out.push(
                    serde_json::from_str(m["Body"].as_str().unwrap_or("null"))
                        .unwrap_or(Value::Null),
                );
                Self::sqs(
                    &self.http,
                    &self.endpoint,
                    "DeleteMessage",
                    json!({"QueueUrl": self.queue_url, "ReceiptHandle": m["ReceiptHandle"]}),
                )
                .await;
            }
        }
        out
    }
}

/// A list query of one agent's records with the defaults (no filter, 100 items, first page).
pub fn list_query<'a>(
    tenant: &'a str,
    agent: &'a str,
    now: chrono::DateTime<chrono::Utc>,
) -> afterhours_adapters::model::ListQuery<'a> {
    afterhours_adapters::model::ListQuery {
        tenant,
        agent,
        filter: Default::default(),
        order: Default::default(),
        limit: 100,
        cursor: None,
        now,
    }
}

/// Marks a record sent as the send function does, without an idempotency key.
pub async fn mark_sent(
    store: &Store,
    key: &afterhours_adapters::model::RecordKey,
    sender: &str,
    (name, language): (&str, &str),
    wamid: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), afterhours_adapters::store::StoreError> {
    let template = afterhours_adapters::model::TemplateRef {
        name: name.into(),
        language: language.into(),
    };
    store
        .mark_sent(&afterhours_adapters::model::SentMessage {
            key,
            sender,
            send_id: wamid,
            template: &template,
            wamid,
            at,
            idempotency: None,
        })
        .await
        .map(|_| ())
}

/// The status and the error code of an answer (`""` when it has none).
pub fn error_code(r: &afterhours_adapters::http::ApiResponse) -> (u16, String) {
    (
        r.status.as_u16(),
        r.json_body()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

/// A template list as Meta's `message_templates` returns it: one approved
/// template with two body variables, one pending.
pub fn meta_templates() -> Value {
    json!({"data": [
        {"name": "retorno", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY", "id": "1",
         "components": [{"type": "BODY", "text": "Olá {{1}}, vimos sua mensagem de {{2}}."}]},
        {"name": "pedido", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "parameter_format": "NAMED",
         "components": [{"type": "BODY", "text": "Hi {{customer_name}}"}]},
        {"name": "promo", "language": "pt_BR", "status": "PENDING", "category": "MARKETING",
         "components": [{"type": "BODY", "text": "Oferta {{1}}"}]}]})
}
