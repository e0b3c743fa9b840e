//! What DynamoDB charges per operation, measured: an SDK
//! interceptor that asks every request for `ReturnConsumedCapacity: TOTAL` and
//! sums what the answers report, as read or write units by operation. Used by
//! the benchmark only; production requests are untouched.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::ConsumedCapacity;
use aws_smithy_types::body::SdkBody;

/// Read and write capacity units consumed, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Units {
    pub read: f64,
    pub write: f64,
    pub requests: usize,
}

/// The interceptor; clones share the sums.
#[derive(Debug, Clone, Default)]
pub struct CapacityMeter(Arc<Mutex<Units>>);

impl CapacityMeter {
    /// The sums since the last call, and zero again.
    pub fn take(&self) -> Units {
        self.0
            .lock()
            .map(|mut u| std::mem::take(&mut *u))
            .unwrap_or_default()
    }

    fn add(&self, caps: &[ConsumedCapacity], write: bool) {
        let units: f64 = caps
            .iter()
            .filter_map(ConsumedCapacity::capacity_units)
            .sum();
        if let Ok(mut u) = self.0.lock() {
            if write {
                u.write += units;
            } else {
                u.read += units;
            }
        }
    }

    /// A DynamoDB client like `client` whose requests this meter measures.
    pub fn client(&self, client: &aws_sdk_dynamodb::Client) -> aws_sdk_dynamodb::Client {
        let conf = client
            .config()
            .to_builder()
            .interceptor(self.clone())
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    /// Adds `"ReturnConsumedCapacity": "TOTAL"` to the request's JSON body.
    fn modify_before_signing(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let req = ctx.request_mut();
        let Some(bytes) = req.body().bytes() else {
            return Ok(());
        };
        let Ok(serde_json::Value::Object(mut body)) = serde_json::from_slice(bytes) else {
            return Ok(());
        };
        body.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
        let new = serde_json::to_vec(&body)?;
        req.headers_mut()
            .insert("content-length", new.len().to_string());
        *req.body_mut() = SdkBody::from(new);
        if let Ok(mut u) = self.0.lock() {
            u.requests += 1;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        use aws_sdk_dynamodb::operation as op;
        let Ok(out) = ctx.output_or_error() else {
            return Ok(());
        };
        let one = |c: Option<&ConsumedCapacity>| c.cloned().into_iter().collect::<Vec<_>>();
        if let Some(o) = out.downcast_ref::<op::get_item::GetItemOutput>() {
            self.add(&one(o.consumed_capacity()), false);
        } else if let Some(o) = out.downcast_ref::<op::query::QueryOutput>() {
            self.add(&one(o.consumed_capacity()), false);
        } else if let Some(o) = out.downcast_ref::<op::batch_get_item::BatchGetItemOutput>() {
            self.add(o.consumed_capacity(), false);
        } else if let Some(o) = out.downcast_ref::<op::put_item::PutItemOutput>() {
            self.add(&one(o.consumed_capacity()), true);
        } else if let Some(o) = out.downcast_ref::<op::update_item::UpdateItemOutput>() {
            self.add(&one(o.consumed_capacity()), true);
        } else if let Some(o) = out.downcast_ref::<op::delete_item::DeleteItemOutput>() {
            self.add(&one(o.consumed_capacity()), true);
        } else if let Some(o) =
            out.downcast_ref::<op::transact_write_items::TransactWriteItemsOutput>()
        {
            self.add(o.consumed_capacity(), true);
        }
        Ok(())
    }
}
