//! The cap counter: one item per (tenant, agent, customer) holding the send
//! times of the last 24 h, changed only by a write conditional on its version.

use std::collections::HashMap;

use afterhours_rules::cap::{self, Quota};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use super::client::{applied, number_value, string_value, Item, Store, StoreError};
use super::item::{malformed, parse};

/// What the cap counter holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counter {
    /// (send time, slot token), oldest first.
    pub sends: Vec<(DateTime<Utc>, String)>,
    pub version: i64,
}

impl Counter {
    pub fn times(&self) -> Vec<DateTime<Utc>> {
        self.sends.iter().map(|(t, _)| *t).collect()
    }
}

/// A slot the cap gave out; `release` gives it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub token: String,
    pub quota_after: Quota,
}

/// What asking the cap for one more send got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The send may go out; the slot is counted.
    Granted(Slot),
    /// The cap is reached; the quota says until when.
    Refused(Quota),
}

impl Reservation {
    /// The slot, when the send may go out.
    pub fn granted(self) -> Option<Slot> {
        match self {
            Reservation::Granted(s) => Some(s),
            Reservation::Refused(_) => None,
        }
    }

    /// The quota, when the cap refused.
    pub fn refused(self) -> Option<Quota> {
        match self {
            Reservation::Granted(_) => None,
            Reservation::Refused(q) => Some(q),
        }
    }

    pub fn is_granted(&self) -> bool {
        matches!(self, Reservation::Granted(_))
    }
}

/// How often a conflicting counter write is tried again before giving up.
const COUNTER_ATTEMPTS: usize = 64;

impl Store {
    /// The counter, strongly consistent: what it says decides the next write.
    pub async fn read_counter(
        &self,
        tenant: &str,
        agent: &str,
        customer: &str,
    ) -> Result<Counter, StoreError> {
        match self
            .get_consistent(super::keys::counter(tenant, agent, customer))
            .await?
        {
            Some(i) => counter_of(&i),
            None => Ok(Counter::default()),
        }
    }

    /// Quotas of many (agent, customer) pairs of one tenant in one batch read.
    pub async fn quotas(
        &self,
        tenant: &str,
        pairs: &[(String, String)],
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<HashMap<(String, String), Quota>, StoreError> {
        let pk = |k: &Item| {
            k.get("PK")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let keys: Vec<Item> = pairs
            .iter()
            .map(|(a, c)| super::keys::counter(tenant, a, c))
            .collect();
        let mut found: HashMap<String, Counter> = HashMap::new();
        for it in &self.batch_get(keys.clone()).await? {
            found.insert(pk(it), counter_of(it)?);
        }
        Ok(pairs
            .iter()
            .zip(&keys)
            .map(|((a, c), k)| {
                let times = found.get(&pk(k)).map(Counter::times).unwrap_or_default();
                ((a.clone(), c.clone()), cap::quota(&times, now, limit))
            })
            .collect())
    }

    async fn write_counter(
        &self,
        k: Item,
        sends: &[(DateTime<Utc>, String)],
        expected: i64,
    ) -> Result<bool, StoreError> {
        let list: Vec<AttributeValue> = sends
            .iter()
            .map(|(t, tok)| string_value(format!("{}#{tok}", t.timestamp_millis())))
            .collect();
        let newest = sends.iter().map(|(t, _)| *t).max().unwrap_or_else(Utc::now);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(k))
            .update_expression("SET sends = :s, ver = :next, expiresAt = :exp")
            .condition_expression("attribute_not_exists(ver) OR ver = :ver")
            .expression_attribute_values(":s", AttributeValue::L(list))
            .expression_attribute_values(":next", number_value(expected + 1))
            .expression_attribute_values(":ver", number_value(expected))
            .expression_attribute_values(
                ":exp",
                number_value((newest + cap::window() + Duration::hours(1)).timestamp()),
            )
            .send()
            .await;
        applied(res)
    }

    /// Takes one slot of the cap atomically: a conditional write on the counter's
    /// version, retried on conflict. `known` is a counter already read (to save a
    /// round trip).
    pub async fn reserve(
        &self,
        tenant: &str,
        agent: &str,
        customer: &str,
        limit: u32,
        now: DateTime<Utc>,
        known: Option<Counter>,
    ) -> Result<Reservation, StoreError> {
        let k = super::keys::counter(tenant, agent, customer);
        let mut counter = match known {
            Some(c) => c,
            None => self.read_counter(tenant, agent, customer).await?,
        };
        for attempt in 0..COUNTER_ATTEMPTS {
            let q = cap::quota(&counter.times(), now, limit);
            if !q.allows_one_more() {
                return Ok(Reservation::Refused(q));
            }
            let token = uuid::Uuid::new_v4().simple().to_string();
            let mut sends: Vec<(DateTime<Utc>, String)> = counter
                .sends
                .iter()
                .filter(|(t, _)| *t + cap::window() > now)
                .cloned()
                .collect();
            sends.push((now, token.clone()));
            if self
                .write_counter(k.clone(), &sends, counter.version)
                .await?
            {
                let times: Vec<_> = sends.iter().map(|(t, _)| *t).collect();
                let quota_after = cap::quota(&times, now, limit);
                return Ok(Reservation::Granted(Slot { token, quota_after }));
            }
            if attempt > 4 {
                crate::retry::COUNTER.wait(attempt as u32).await;
            }
            counter = self.read_counter(tenant, agent, customer).await?;
        }
        Err(StoreError::Contention("the cap counter".into()))
    }

    /// Gives a slot back after a send that did not go out.
    pub async fn release(
        &self,
        tenant: &str,
        agent: &str,
        customer: &str,
        token: &str,
    ) -> Result<(), StoreError> {
        let k = super::keys::counter(tenant, agent, customer);
        for _ in 0..COUNTER_ATTEMPTS {
            let counter = self.read_counter(tenant, agent, customer).await?;
            if !counter.sends.iter().any(|(_, t)| t == token) {
                return Ok(());
            }
            let sends: Vec<_> = counter
                .sends
                .iter()
                .filter(|(_, t)| t != token)
                .cloned()
                .collect();
            if self
                .write_counter(k.clone(), &sends, counter.version)
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError::Contention("the cap counter".into()))
    }
}

#[derive(serde::Deserialize)]
struct CounterItem {
    #[serde(default)]
    sends: Vec<String>,
    ver: i64,
}

/// A cap counter: `sends` as `{epoch ms}#{slot token}`, oldest first, and its version.
pub(super) fn counter_of(item: &Item) -> Result<Counter, StoreError> {
    let c: CounterItem = parse(item)?;
    let sends = c
        .sends
        .iter()
        .map(|e| {
            let (ms, token) = e.split_once('#')?;
            let t = chrono::TimeZone::timestamp_millis_opt(&Utc, ms.parse().ok()?).single()?;
            Some((t, token.to_string()))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| malformed(item, "a send is not {epoch ms}#{token}"))?;
    Ok(Counter {
        sends,
        version: c.ver,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::client::item_key;
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn a_malformed_counter_is_an_error() {
        let mut i = item_key("Q#t#a#c", "Q");
        i.insert("ver".into(), number_value(3));
        i.insert(
            "sends".into(),
            AttributeValue::L(vec![string_value("1700000000000#tok")]),
        );
        assert_eq!(counter_of(&i).unwrap().version, 3);
        i.insert(
            "sends".into(),
            AttributeValue::L(vec![string_value("yesterday")]),
        );
        assert!(matches!(counter_of(&i), Err(StoreError::Malformed { .. })));
    }
}
