//! How a record remembers the messages it counted, so that most deliveries
//! are deduplicated by one conditional write of the record itself.
//!
//! A record keeps the fingerprints of its latest messages (`seen`, at most
//! [`WINDOW`]). When the window is full, the next write copies it into a
//! bucket item beside the record (`{record SK}#S{n}`) and starts a new one;
//! `spilledAt` bounds the times of every fingerprint spilled, so a message
//! newer than it needs no look at the buckets. The window only grows between
//! spills, so its size and `spillSeq` pin it for a conditional write.
//! `docs/data-model.md` explains the whole design.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use sha2::{Digest, Sha256};

use super::client::{number_value, Item, Store, StoreError};
use super::keys;
use crate::model::Inbound;

/// How many fingerprints a record holds before it spills them to a bucket:
/// 32 × 8 bytes keeps a record (and its index copy) under the 1 KB of one
/// write unit.
pub(super) const WINDOW: usize = 32;

/// Bytes of a fingerprint. Two messages of one record share one by chance
/// once in 2^64 / 32²: never, in practice.
const FINGERPRINT_BYTES: usize = 8;

/// A message's fingerprint: its `wamid` on its channel, hashed.
pub(super) fn fingerprint(m: &Inbound) -> Blob {
    let digest = Sha256::new()
        .chain_update(m.channel.as_bytes())
        .chain_update([0u8])
        .chain_update(m.wamid.as_bytes())
        .finalize();
    Blob::new(&digest[..FINGERPRINT_BYTES])
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// What a stored record remembers of the messages it counted.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Memory {
    /// The record's key.
    pub key: Item,
    seen: Vec<Blob>,
    spill_seq: i64,
    spilled_at: Option<i64>,
    /// The newest time among fingerprints other records' writes put here.
    marked_at: Option<i64>,
    last_at: i64,
    expires_at: i64,
    /// Written by a version that keeps the memory (it is in the customer index).
    pub indexed: bool,
}

impl Memory {
    pub fn of(item: &Item) -> Memory {
        let key = ["PK", "SK"]
            .into_iter()
            .filter_map(|k| Some((k.to_string(), item.get(k)?.clone())))
            .collect();
        Memory {
            key,
            seen: item
                .get("seen")
                .and_then(|v| v.as_bs().ok())
                .cloned()
                .unwrap_or_default(),
            spill_seq: number(item, "spillSeq").unwrap_or(0),
            spilled_at: number(item, "spilledAt"),
            marked_at: number(item, "seenAt"),
            last_at: number(item, "lastAt").unwrap_or(0),
            expires_at: number(item, "expiresAt").unwrap_or(0),
            indexed: item.contains_key("GSI2PK"),
        }
    }

    pub fn holds(&self, h: &Blob) -> bool {
        self.seen.contains(h)
    }

    pub fn is_full(&self) -> bool {
        self.seen.len() >= WINDOW
    }

    /// Whether a message of time `at` may be among the spilled fingerprints.
    pub fn may_have_spilled(&self, at: i64) -> bool {
        self.spilled_at.is_some_and(|s| s >= at)
    }

    /// The condition that nothing was spilled since the read, with its value:
    /// what the read found in the buckets still holds.
    pub fn same_buckets(&self, values: &mut Item) -> String {
        if self.spill_seq == 0 {
            "attribute_not_exists(spillSeq)".to_string()
        } else {
            values.insert(":q".into(), number_value(self.spill_seq));
            "spillSeq = :q".to_string()
        }
    }

    /// The conditions that the window is still exactly as read (nothing
    /// spilled, nothing added), with their values.
    pub fn unchanged(&self, values: &mut Item) -> Vec<String> {
        let mut c = vec![self.same_buckets(values)];
        if self.seen.is_empty() {
            c.push("attribute_not_exists(seen)".to_string());
        } else {
            c.push("size(seen) = :n".to_string());
            values.insert(":n".into(), number_value(self.seen.len() as i64));
        }
        c
    }

    /// The `SET` clauses (and values) that start a new window after this one
    /// is spilled: the next bucket's number and the bound of what it holds.
    pub fn restart(&self, values: &mut Item) -> Vec<String> {
        let bound = [self.spilled_at, self.marked_at, Some(self.last_at)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0);
        values.insert(":q1".into(), number_value(self.spill_seq + 1));
        values.insert(":sa".into(), number_value(bound));
        vec!["spillSeq = :q1".into(), "spilledAt = :sa".into()]
    }

    fn key_part(&self, name: &str) -> &str {
        self.key
            .get(name)
            .and_then(|v| v.as_s().ok())
            .map_or("", String::as_str)
    }

    fn pk(&self) -> &str {
        self.key_part("PK")
    }

    fn sk(&self) -> &str {
        self.key_part("SK")
    }
}

/// A one-fingerprint set, to `ADD` to a window (or to start one).
pub(super) fn set_of(h: &Blob) -> AttributeValue {
    AttributeValue::Bs(vec![h.clone()])
}

impl Store {
    /// Copies a full window into the record's next bucket. Written whole, so
    /// a spill retried after a crash writes the same bucket again; only ever
    /// by a larger window (marks may come into a full one), so a spill that
    /// read the window earlier and lost the race cannot shrink it.
    pub(super) async fn put_bucket(&self, mem: &Memory) -> Result<(), StoreError> {
        let mut item = keys::bucket(mem.pk(), mem.sk(), mem.spill_seq + 1);
        item.insert("seen".into(), AttributeValue::Bs(mem.seen.clone()));
        // Kept a day past the record, whose expiry may still move back.
        item.insert("expiresAt".into(), number_value(mem.expires_at + 24 * 3600));
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR size(seen) < :n")
            .expression_attribute_values(":n", number_value(mem.seen.len() as i64))
            .send()
            .await;
        super::client::applied(res).map(|_| ())
    }

    /// Spills a full window on its own (no message counted with it). `Ok(())`
    /// also when the window moved meanwhile: the caller reads it again.
    pub(super) async fn spill(&self, mem: &Memory) -> Result<(), StoreError> {
        self.put_bucket(mem).await?;
        let mut values = HashMap::new();
        let set = mem.restart(&mut values);
        let condition = mem.unchanged(&mut values).join(" AND ");
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(mem.key.clone()))
            .update_expression(format!("SET {} REMOVE seen, seenAt", set.join(", ")))
            .condition_expression(format!("attribute_exists(PK) AND {condition}"))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        super::client::applied(res).map(|_| ())
    }

    /// Whether a record's spilled buckets hold the fingerprint (DynamoDB
    /// looks; only the keys of a bucket holding it come back).
    pub(super) async fn spilled_holds(&self, mem: &Memory, h: &Blob) -> Result<bool, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
            .filter_expression("contains(seen, :h)")
            .expression_attribute_values(":pk", AttributeValue::S(mem.pk().to_string()))
            .expression_attribute_values(":p", AttributeValue::S(keys::bucket_prefix(mem.sk())))
            .expression_attribute_values(":h", AttributeValue::B(h.clone()))
            .projection_expression("SK");
        Ok(!self.query_all(query).await?.is_empty())
    }

    /// Whether a record remembers the message, in its window or its buckets.
    pub(super) async fn remembers(
        &self,
        mem: &Memory,
        h: &Blob,
        at: i64,
    ) -> Result<bool, StoreError> {
        Ok(mem.holds(h) || (mem.may_have_spilled(at) && self.spilled_holds(mem, h).await?))
    }

    /// The keys of the customer's other records that may hold the message:
    /// every agent's, of a period that began in the 8 days up to it
    /// (`GSI2`, keys only); and whether the message's own record is listed
    /// (the index lags a little: a hint, not a proof).
    pub(super) async fn records_near(&self, m: &Inbound) -> Result<(Vec<Item>, bool), StoreError> {
        let at = m.at.timestamp();
        let own = keys::record(&m.key);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :c AND GSI2SK BETWEEN :lo AND :hi")
            .expression_attribute_values(
                ":c",
                AttributeValue::S(keys::customer_records(&m.key.tenant, &m.key.customer)),
            )
            .expression_attribute_values(
                ":lo",
                AttributeValue::S(format!("{:012}", at - 8 * 24 * 3600)),
            )
            .expression_attribute_values(":hi", AttributeValue::S(format!("{at:012}~")));
        let (own, others): (Vec<Item>, Vec<Item>) = self
            .query_all(query)
            .await?
            .into_iter()
            .map(|i| Memory::of(&i).key)
            .partition(|k| *k == own);
        Ok((others, !own.is_empty()))
    }

    /// The fingerprint marked on another record that may have counted the
    /// message: a write of it there from now on finds it and changes nothing.
    pub(super) fn marker(
        &self,
        mem: &Memory,
        h: &Blob,
        at: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut values = HashMap::from([
            (":h".to_string(), AttributeValue::B(h.clone())),
            (":hs".to_string(), set_of(h)),
            (
                ":sat".to_string(),
                number_value(mem.marked_at.map_or(at, |m| m.max(at))),
            ),
        ]);
        // Other marks may come in between (they commute), but no spill, and
        // none newer than this one's bound of the window's times.
        let condition = [
            "attribute_exists(PK)".to_string(),
            mem.same_buckets(&mut values),
            "NOT contains(seen, :h)".into(),
            "(attribute_not_exists(seenAt) OR seenAt <= :sat)".into(),
        ];
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(mem.key.clone()))
            .update_expression("ADD seen :hs SET seenAt = :sat")
            .condition_expression(condition.join(" AND "))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecordKey;
    use chrono::TimeZone;

    fn inbound(channel: &str, wamid: &str) -> Inbound {
        Inbound {
            key: RecordKey {
                tenant: "t".into(),
                agent: "a".into(),
                customer: "c".into(),
                period: 1,
            },
            channel: channel.into(),
            wamid: wamid.into(),
            at: chrono::Utc.timestamp_opt(100, 0).unwrap(),
            wa_id: None,
            user_id: None,
            name: None,
            settled: true,
        }
    }

    #[test]
    fn a_fingerprint_is_eight_bytes_of_the_wamid_on_its_channel() {
        let a = fingerprint(&inbound("p1", "wamid.A"));
        assert_eq!(a.as_ref().len(), 8);
        assert_eq!(a, fingerprint(&inbound("p1", "wamid.A")));
        assert_ne!(a, fingerprint(&inbound("p1", "wamid.B")));
        assert_ne!(a, fingerprint(&inbound("p2", "wamid.A")));
        // The separator keeps ("p1", "1wamid") apart from ("p11", "wamid").
        assert_ne!(
            fingerprint(&inbound("p1", "1w")),
            fingerprint(&inbound("p11", "w"))
        );
    }

    fn record(seen: usize, spill_seq: Option<i64>, extra: &[(&str, i64)]) -> Item {
        let mut item = keys::pointed("T#t#A#a", "C#c#1");
        if seen > 0 {
            let blobs = (0..seen).map(|i| Blob::new(vec![i as u8; 8])).collect();
            item.insert("seen".into(), AttributeValue::Bs(blobs));
        }
        if let Some(q) = spill_seq {
            item.insert("spillSeq".into(), number_value(q));
        }
        for (k, v) in extra {
            item.insert((*k).into(), number_value(*v));
        }
        item
    }

    #[test]
    fn a_window_is_full_at_its_size_and_pinned_by_its_size_and_spill_count() {
        let mem = Memory::of(&record(WINDOW - 1, None, &[]));
        assert!(!mem.is_full());
        assert!(Memory::of(&record(WINDOW, None, &[])).is_full());
        assert!(mem.holds(&Blob::new(vec![3u8; 8])));
        assert!(!mem.holds(&Blob::new(vec![200u8; 8])));
        let mut values = HashMap::new();
        assert_eq!(
            mem.unchanged(&mut values),
            vec!["attribute_not_exists(spillSeq)", "size(seen) = :n"]
        );
        assert_eq!(values[":n"], number_value(WINDOW as i64 - 1));
        let mut values = HashMap::new();
        let fresh = Memory::of(&record(0, Some(2), &[]));
        assert_eq!(
            fresh.unchanged(&mut values),
            vec!["spillSeq = :q", "attribute_not_exists(seen)"]
        );
        assert_eq!(values[":q"], number_value(2));
    }

    #[test]
    fn a_restarted_window_bounds_every_time_it_spilled() {
        let mem = Memory::of(&record(
            WINDOW,
            Some(1),
            &[("lastAt", 500), ("spilledAt", 400), ("seenAt", 700)],
        ));
        let mut values = HashMap::new();
        assert_eq!(
            mem.restart(&mut values),
            vec!["spillSeq = :q1", "spilledAt = :sa"]
        );
        assert_eq!(values[":q1"], number_value(2));
        assert_eq!(values[":sa"], number_value(700));
        let plain = Memory::of(&record(WINDOW, None, &[("lastAt", 500)]));
        let mut values = HashMap::new();
        plain.restart(&mut values);
        assert_eq!(values[":sa"], number_value(500));
        assert_eq!(values[":q1"], number_value(1));
    }

    #[test]
    fn only_a_message_no_newer_than_the_spilled_ones_may_be_among_them() {
        let never = Memory::of(&record(3, None, &[("lastAt", 500)]));
        assert!(!never.may_have_spilled(1));
        let spilled = Memory::of(&record(0, Some(1), &[("spilledAt", 400)]));
        assert!(spilled.may_have_spilled(400));
        assert!(spilled.may_have_spilled(10));
        assert!(!spilled.may_have_spilled(401));
    }

    #[test]
    fn a_record_of_this_version_is_in_the_customer_index() {
        let mut item = record(1, None, &[]);
        assert!(!Memory::of(&item).indexed);
        item.insert("GSI2PK".into(), AttributeValue::S("T#t#C#c".into()));
        assert!(Memory::of(&item).indexed);
        assert_eq!(Memory::of(&item).key, keys::pointed("T#t#A#a", "C#c#1"));
    }
}
