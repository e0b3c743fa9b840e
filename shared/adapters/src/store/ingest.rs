//! What the webhook writes for an inbound message: the record of its
//! customer's closed period, counted once per `wamid` (see [`super::dedup`]
//! for how a record remembers its messages).

use afterhours_rules::callback::RequestedCallback;
use afterhours_rules::RETENTION_DAYS;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Duration, Utc};

use super::client::{
    dynamo, failed_condition, number_value, string_value, Item, Store, StoreError, Transaction,
};
use super::dedup::{self, Memory};
use super::item::{parse, whole, ClaimItem};
use super::keys;
use crate::model::{Inbound, IngestOutcome, RecordKey};

/// A pending callback's sort key in the pending index and the LSI: first contact, then identity.
pub(super) fn order_key(first_at: DateTime<Utc>, k: &RecordKey) -> String {
    format!(
        "{:012}#{}#{}#{}",
        first_at.timestamp(),
        k.agent,
        k.customer,
        k.period
    )
}

fn expiry_secs(at: DateTime<Utc>, extra_days: i64) -> i64 {
    at.timestamp() + Duration::days(RETENTION_DAYS + extra_days).num_seconds()
}

pub(super) fn expiry(at: DateTime<Utc>, extra_days: i64) -> AttributeValue {
    number_value(expiry_secs(at, extra_days))
}

pub(super) fn callback(v: RequestedCallback) -> AttributeValue {
    string_value(v.as_str())
}

/// How long a message's `wamid` is remembered: Meta retries for up to 7 days.
const DEDUP_DAYS: i64 = RETENTION_DAYS + 1;
/// How often recording one message may meet a concurrent change of its record.
const INGEST_ATTEMPTS: usize = 10;

/// Where a message falls in its record, as the last attempt found it. The
/// three cases for an existing record are exclusive and each write's
/// condition checks its own, so a concurrent change only sends it round again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The record's newest message (the common case).
    Add,
    /// No record yet: this message opens it.
    Create,
    /// Between the record's first and last message (delivered out of order).
    Middle,
    /// Before the record's first message: the first contact moves back.
    Earliest,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Times {
    first_at: i64,
    last_at: i64,
}

impl Step {
    /// The step a stored record calls for.
    fn after(m: &Inbound, old: &Item) -> Result<Step, StoreError> {
        let t: Times = parse(old)?;
        let at = m.at.timestamp();
        Ok(if t.last_at <= at {
            Step::Add
        } else if t.first_at <= at {
            Step::Middle
        } else {
            Step::Earliest
        })
    }

    /// The write of the record this step makes (without its memory of the message).
    fn write(self, m: &Inbound) -> RecordWrite {
        let mut w = RecordWrite::default();
        w.value(":channel", string_value(&m.channel));
        w.value(":at", number_value(m.at.timestamp()));
        w.set.push("channelId = :channel".into());
        if self == Step::Create {
            w.create(m);
            return w;
        }
        w.value(":one", number_value(1));
        w.add.push("msgCount :one".into());
        w.condition.push("attribute_exists(PK)".into());
        match self {
            Step::Add => {
                w.set.push("lastAt = :at".into());
                w.condition.push("lastAt <= :at".into());
                w.customer(m, true);
            }
            Step::Middle => {
                w.condition.push("lastAt > :at AND firstAt <= :at".into());
                w.customer(m, false);
            }
            _ => {
                w.set
                    .extend(["firstAt = :at", "LSK = :lsk", "expiresAt = :exp"].map(String::from));
                w.value(":lsk", string_value(order_key(m.at, &m.key)));
                w.value(":exp", expiry(m.at, 0));
                w.condition.push("firstAt > :at".into());
                w.customer(m, false);
            }
        }
        w
    }
}

/// One write of a record: its update's clauses, its condition, their values.
#[derive(Default)]
struct RecordWrite {
    set: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    condition: Vec<String>,
    values: Item,
}

impl RecordWrite {
    fn value(&mut self, name: &str, v: AttributeValue) {
        self.values.insert(name.into(), v);
    }

    /// What a message says about its customer; the name of a message older
    /// than the record's newest only when the record has none.
    fn customer(&mut self, m: &Inbound, newest: bool) {
        for (clause, name, value) in [
            ("waId = :wa", ":wa", &m.wa_id),
            ("userId = :uid", ":uid", &m.user_id),
        ] {
            if let Some(v) = value {
                self.set.push(clause.into());
                self.value(name, string_value(v));
            }
        }
        if let Some(name) = &m.name {
            self.set.push(if newest {
                "profileName = :name".into()
            } else {
                "profileName = if_not_exists(profileName, :name)".into()
            });
            self.value(":name", string_value(name));
        }
    }

    /// The first message of a night: the record, ordered by its first
    /// contact, in the customer index, remembering the message.
    fn create(&mut self, m: &Inbound) {
        let k = &m.key;
        self.set.extend(
            [
                "tenantId = :tenant",
                "agentId = :agent",
                "customerId = :customer",
                "periodStart = :period",
                "firstAt = :at",
                "lastAt = :at",
                "LSK = :lsk",
                "GSI2PK = :c",
                "GSI2SK = :csk",
                "expiresAt = :exp",
                "requestedCallback = :na",
                "messageSent = :false",
                "msgCount = :one",
                "seen = :hs",
            ]
            .map(String::from),
        );
        for (name, v) in [
            (":tenant", string_value(&k.tenant)),
            (":agent", string_value(&k.agent)),
            (":customer", string_value(&k.customer)),
            (":period", number_value(k.period)),
            (":lsk", string_value(order_key(m.at, k))),
            (
                ":c",
                string_value(keys::customer_records(&k.tenant, &k.customer)),
            ),
            (":csk", string_value(keys::customer_record_sk(k))),
            (":exp", expiry(m.at, 0)),
            (":na", callback(RequestedCallback::NotAsked)),
            (":false", AttributeValue::Bool(false)),
            (":one", number_value(1)),
            (":hs", dedup::set_of(&dedup::fingerprint(m))),
        ] {
            self.value(name, v);
        }
        self.customer(m, true);
        self.condition.push("attribute_not_exists(PK)".into());
    }

    /// The fingerprint's values (`:h`, and `:hs` as a set), on condition
    /// that the window does not hold it.
    fn fingerprint(&mut self, h: &Blob) {
        self.value(":h", AttributeValue::B(h.clone()));
        self.value(":hs", dedup::set_of(h));
        self.condition.push("NOT contains(seen, :h)".into());
    }

    /// Remembers the message in a window that has room, unless it is there
    /// or may be among the spilled ones: no read needed.
    fn remember(&mut self, h: &Blob) {
        self.add.push("seen :hs".into());
        self.fingerprint(h);
        self.value(":window", number_value(dedup::WINDOW as i64));
        self.condition.extend(
            [
                "(attribute_not_exists(seen) OR size(seen) < :window)",
                "(attribute_not_exists(spilledAt) OR spilledAt < :at)",
            ]
            .map(String::from),
        );
    }

    /// Starts a new window with the message, the full one read just copied
    /// to its bucket ([`Store::put_bucket`]).
    fn remember_spilling(&mut self, h: &Blob, mem: &Memory) {
        self.set.push("seen = :hs".into());
        self.fingerprint(h);
        let restart = mem.restart(&mut self.values);
        self.set.extend(restart);
        self.remove.push("seenAt".into());
        let pinned = mem.unchanged(&mut self.values);
        self.condition.extend(pinned);
    }

    fn expression(&self) -> String {
        let mut parts = Vec::new();
        for (verb, clauses) in [
            ("SET", &self.set),
            ("ADD", &self.add),
            ("REMOVE", &self.remove),
        ] {
            if !clauses.is_empty() {
                parts.push(format!("{verb} {}", clauses.join(", ")));
            }
        }
        parts.join(" ")
    }

    fn into_update(self, table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(self.expression())
            .condition_expression(self.condition.join(" AND "))
            .set_expression_attribute_values(Some(self.values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// Where the claimed path stands between attempts.
struct Claiming {
    step: Step,
    /// The record's buckets may hold messages this old: they were read and
    /// found without it, and no delivery of it can go in the window from
    /// now on ([`Store::record_settled`] refuses), so it goes without (its
    /// claim alone stops the next).
    older_than_window: bool,
    create_failed: bool,
}

/// How [`Store::record_settled`] ended.
enum Settled {
    Done(IngestOutcome),
    /// No record yet: the claimed path opens it.
    NoRecord,
    /// The claimed path decides.
    Claim,
}

/// The other records a message may have been counted on, and what each
/// remembers, and whether its own record may exist (`false`: the customer
/// index does not list it); `None` when one of them counted it.
type Others = Option<(Vec<Memory>, bool)>;

impl Store {
    /// Records one inbound message outside hours, counted once whatever
    /// record a delivery of it would name.
    ///
    /// When nothing that picks the record changed since just before the
    /// message was written ([`Inbound::settled`]), every delivery of it names
    /// this record, and the record's own memory of its messages
    /// ([`dedup`](super::dedup)) decides: one conditional write. Otherwise,
    /// and for the first message of a night, the message's `wamid` is
    /// claimed for its channel in one transaction with the record, and
    /// marked on the customer's other records that may have counted it.
    pub async fn record_inbound(&self, m: &Inbound) -> Result<IngestOutcome, StoreError> {
        let h = dedup::fingerprint(m);
        let mut first = Step::Add;
        if m.settled {
            match self.record_settled(m, &h).await? {
                Settled::Done(outcome) => return Ok(outcome),
                Settled::NoRecord => first = Step::Create,
                Settled::Claim => {}
            }
        }
        self.record_claimed(m, &h, first).await
    }

    /// One conditional write of the record, which remembers the message,
    /// unless the claimed path must decide: no record yet, one written
    /// before records remembered their messages, or a message older than
    /// fingerprints the record spilled.
    async fn record_settled(&self, m: &Inbound, h: &Blob) -> Result<Settled, StoreError> {
        let key = keys::record(&m.key);
        let mut step = Step::Add;
        let mut full: Option<Memory> = None;
        for _ in 0..INGEST_ATTEMPTS {
            let mut w = step.write(m);
            match &full {
                Some(mem) => {
                    self.put_bucket(mem).await?;
                    w.remember_spilling(h, mem);
                }
                None => w.remember(h),
            }
            w.condition.push("attribute_exists(GSI2PK)".into());
            let Some(old) = self.update_or_old(key.clone(), w).await? else {
                return Ok(Settled::Done(IngestOutcome::Added));
            };
            let Some(old) = old else {
                return Ok(Settled::NoRecord);
            };
            let mem = Memory::of(&old);
            if mem.holds(h) {
                return Ok(Settled::Done(IngestOutcome::Duplicate));
            }
            if !mem.indexed || mem.may_have_spilled(m.at.timestamp()) {
                return Ok(Settled::Claim);
            }
            full = mem.is_full().then_some(mem);
            step = Step::after(m, &old)?;
        }
        Err(StoreError::Contention("a contact record".into()))
    }

    /// A conditional update: `None` when applied, else the item as it was
    /// (`Some(None)`: there is none; asked for, DynamoDB returns the item
    /// whenever it exists, and the claimed path's own conditions check anyway).
    async fn update_or_old(
        &self,
        key: Item,
        w: RecordWrite,
    ) -> Result<Option<Option<Item>>, StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError as E;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(w.expression())
            .condition_expression(w.condition.join(" AND "))
            .set_expression_attribute_values(Some(w.values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let e = match res {
            Ok(_) => return Ok(None),
            Err(e) => e,
        };
        match e.as_service_error() {
            Some(E::ConditionalCheckFailedException(c)) => Ok(Some(c.item().cloned())),
            _ => Err(dynamo(e)),
        }
    }

    /// The customer's other records near the message, unless one of them
    /// remembers it; full windows among them are spilled first, so that the
    /// marks put there stay few.
    async fn others(&self, m: &Inbound, h: &Blob) -> Result<Others, StoreError> {
        let (keys, own_listed) = self.records_near(m).await?;
        for _ in 0..INGEST_ATTEMPTS {
            let mut out = Vec::new();
            let mut spilled = false;
            for item in self.batch_get_consistent(keys.clone()).await? {
                let mem = Memory::of(&item);
                if self.remembers(&mem, h, m.at.timestamp()).await? {
                    return Ok(None);
                }
                if mem.may_have_spilled(m.at.timestamp()) {
                    // No delivery of it can go in that window any more.
                    continue;
                }
                if mem.is_full() {
                    self.spill(&mem).await?;
                    spilled = true;
                }
                out.push(mem);
            }
            if !spilled {
                return Ok(Some((out, own_listed)));
            }
        }
        Err(StoreError::Contention("a customer's records".into()))
    }

    /// The message claimed for its channel in one transaction with its
    /// record (opened if needed) and its marks on the customer's other
    /// records that may have counted it.
    async fn record_claimed(
        &self,
        m: &Inbound,
        h: &Blob,
        first: Step,
    ) -> Result<IngestOutcome, StoreError> {
        let key = keys::record(&m.key);
        let Some((mut others, own_may_exist)) = self.marked_on(m, h).await? else {
            return Ok(IngestOutcome::Duplicate);
        };
        let mut at = Claiming {
            // Not listed: most likely a new record (if the index lagged, the
            // opening is refused and the next attempt adds to it).
            step: if own_may_exist { first } else { Step::Create },
            older_than_window: false,
            create_failed: false,
        };
        for _ in 0..INGEST_ATTEMPTS {
            let step = at.step;
            let mut w = step.write(m);
            if step != Step::Create && !at.older_than_window {
                w.remember(h);
            }
            let mut items = vec![self.dedup_put(m)?, w.into_update(&self.table, key.clone())?];
            if step == Step::Create {
                items.push(self.agent_seen(&m.key.tenant, &m.key.agent, expiry_secs(m.at, 0))?);
            }
            let first_mark = items.len();
            for mem in &others {
                items.push(self.marker(mem, h, m.at.timestamp())?);
            }
            let reasons = match self.transact_or_reasons(items).await? {
                Transaction::Applied if step == Step::Create => return Ok(IngestOutcome::Created),
                Transaction::Applied => return Ok(IngestOutcome::Added),
                Transaction::Refused(reasons) if failed_condition(&reasons, 0) => {
                    return Ok(IngestOutcome::Duplicate)
                }
                Transaction::Refused(reasons) => reasons,
            };
            if (first_mark..reasons.len()).any(|i| failed_condition(&reasons, i)) {
                match self.marked_on(m, h).await? {
                    Some((o, _)) => others = o,
                    None => return Ok(IngestOutcome::Duplicate),
                }
            }
            if failed_condition(&reasons, 1) {
                let old = reasons[1].item().cloned();
                if self.next_claim(m, h, &mut at, old).await? {
                    return Ok(IngestOutcome::Duplicate);
                }
            }
        }
        Err(StoreError::Contention("a contact record".into()))
    }

    /// What the next claimed attempt writes, after the record refused the
    /// last one (`old`: the record as it refused, when DynamoDB said).
    /// `true` when the record remembers the message.
    async fn next_claim(
        &self,
        m: &Inbound,
        h: &Blob,
        at: &mut Claiming,
        old: Option<Item>,
    ) -> Result<bool, StoreError> {
        let old = match (at.step, old) {
            // Opened by a concurrent delivery in between.
            (Step::Create, _) => {
                at.create_failed = true;
                at.step = Step::Add;
                return Ok(false);
            }
            (_, Some(old)) => Some(old),
            (_, None) if !at.create_failed => None,
            // A service that did not return the item: read it.
            (_, None) => self.get_consistent(keys::record(&m.key)).await?,
        };
        let Some(old) = old else {
            at.step = Step::Create;
            return Ok(false);
        };
        let mem = Memory::of(&old);
        if self.remembers(&mem, h, m.at.timestamp()).await? {
            return Ok(true);
        }
        at.step = Step::after(m, &old)?;
        at.older_than_window = mem.may_have_spilled(m.at.timestamp());
        if mem.is_full() && !at.older_than_window {
            self.spill(&mem).await?;
        }
        Ok(false)
    }

    /// The other records to mark: none when nothing that picks the record
    /// changed (every delivery names this one).
    async fn marked_on(&self, m: &Inbound, h: &Blob) -> Result<Others, StoreError> {
        if m.settled {
            return Ok(Some((Vec::new(), true)));
        }
        self.others(m, h).await
    }

    /// The claim of a message's `wamid` on its channel (kept while Meta may retry it).
    fn dedup_put(&self, m: &Inbound) -> Result<TransactWriteItem, StoreError> {
        let item = whole(
            keys::message_claim(&m.channel, &m.wamid),
            &ClaimItem {
                expires_at: m.at.timestamp() + Duration::days(DEDUP_DAYS).num_seconds(),
            },
        )?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}
