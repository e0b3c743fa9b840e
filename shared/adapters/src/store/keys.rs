//! Every key of the table, built in this one place (the layout is the table
//! at the top of `store/mod.rs` and `docs/data-model.md`).

use super::client::{item_key, Item};
use crate::model::RecordKey;

/// The partition of the tenant registry, which the report walks.
pub const TENANTS: &str = "TENANTS";
/// Sort-key prefixes of the items under a tenant's partition.
pub const TENANT_CHANNEL: &str = "CHAN#";
pub const TENANT_ACCOUNT: &str = "WABA#";
pub const TENANT_AGENT: &str = "AGENT#";

/// A tenant's own partition (settings, templates, channels, accounts,
/// agents, customers' agents); also the pending index's partition.
pub fn tenant_pk(tenant: &str) -> String {
    format!("T#{tenant}")
}

/// A tenant's settings document.
pub fn settings(tenant: &str) -> Item {
    item_key(tenant_pk(tenant), "SETTINGS")
}

/// A tenant's template book (each account's list, each number's account).
pub fn templates(tenant: &str) -> Item {
    item_key(tenant_pk(tenant), "TEMPLATES")
}

/// A tenant's entry in the registry.
pub fn registry(tenant: &str) -> Item {
    item_key(TENANTS, tenant_pk(tenant))
}

/// A phone number's binding (routes its webhook events).
pub fn channel(phone_number_id: &str) -> Item {
    item_key(format!("CH#{phone_number_id}"), "CHANNEL")
}

/// The tenant's copy of a bound number, to list them.
pub fn tenant_channel(tenant: &str, phone_number_id: &str) -> Item {
    item_key(
        tenant_pk(tenant),
        format!("{TENANT_CHANNEL}{phone_number_id}"),
    )
}

/// A WhatsApp Business Account's grant to one tenant.
pub fn account(waba: &str) -> Item {
    item_key(format!("WABA#{waba}"), "WABA")
}

/// The tenant's copy of a grant, to list its accounts.
pub fn tenant_account(tenant: &str, waba: &str) -> Item {
    item_key(tenant_pk(tenant), format!("{TENANT_ACCOUNT}{waba}"))
}

/// An agent with live records, in the tenant's agent registry.
pub fn agent(tenant: &str, agent: &str) -> Item {
    item_key(tenant_pk(tenant), format!("{TENANT_AGENT}{agent}"))
}

/// Who last sent a customer an active message.
pub fn customer_agent(tenant: &str, customer: &str) -> Item {
    item_key(tenant_pk(tenant), format!("CUST#{customer}"))
}

/// The partition of one agent's records.
pub fn agent_partition(tenant: &str, agent: &str) -> String {
    format!("T#{tenant}#A#{agent}")
}

/// A record's sort key: the customer and the closed period.
pub fn record_sk(k: &RecordKey) -> String {
    format!("C#{}#{}", k.customer, k.period)
}

/// A contact record.
pub fn record(k: &RecordKey) -> Item {
    item_key(agent_partition(&k.tenant, &k.agent), record_sk(k))
}

/// The customer index's partition (`GSI2PK`): every record of one customer
/// of a tenant, whichever agent's.
pub fn customer_records(tenant: &str, customer: &str) -> String {
    format!("T#{tenant}#C#{customer}")
}

/// A record's place in the customer index (`GSI2SK`): its period, then its agent.
pub fn customer_record_sk(k: &RecordKey) -> String {
    format!("{:012}#{}", k.period, k.agent)
}

/// The prefix of a record's spilled fingerprint buckets, under its own partition.
pub fn bucket_prefix(record_sk: &str) -> String {
    format!("{record_sk}#S")
}

/// One bucket of a record's spilled fingerprints (`seq` counts from 1).
pub fn bucket(record_pk: &str, record_sk: &str, seq: i64) -> Item {
    item_key(record_pk, format!("{}{seq}", bucket_prefix(record_sk)))
}

/// A message this system sent (a prompt or an active message) → its record.
pub fn pointer(wamid: &str) -> Item {
    item_key(format!("W#{wamid}"), "W")
}

/// The claim that a customer's message was counted (global dedup by `wamid`
/// on its channel).
pub fn message_claim(channel: &str, wamid: &str) -> Item {
    item_key(format!("M#{channel}#{wamid}"), "M")
}

/// The cap counter of one agent and customer.
pub fn counter(tenant: &str, agent: &str, customer: &str) -> Item {
    item_key(format!("Q#{tenant}#{agent}#{customer}"), "Q")
}

/// The partition of one idempotency key of an agent.
pub fn idempotency_pk(tenant: &str, agent: &str, key: &str) -> String {
    format!("I#{tenant}#{agent}#{key}")
}

/// The idempotency item of a key's partition ([`idempotency_pk`]).
pub fn idempotency(pk: &str) -> Item {
    item_key(pk, "I")
}

/// The key of an item another item points to (a pointer's record), as it
/// was stored there.
pub fn pointed(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    item_key(pk, sk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pk_sk(i: &Item) -> (String, String) {
        let s = |k: &str| i[k].as_s().unwrap().clone();
        (s("PK"), s("SK"))
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let k = RecordKey {
            tenant: "t".into(),
            agent: "a".into(),
            customer: "5511".into(),
            period: 1700000000,
        };
        let cases = [
            (settings("t"), ("T#t", "SETTINGS")),
            (templates("t"), ("T#t", "TEMPLATES")),
            (registry("t"), ("TENANTS", "T#t")),
            (channel("1"), ("CH#1", "CHANNEL")),
            (tenant_channel("t", "1"), ("T#t", "CHAN#1")),
            (account("9"), ("WABA#9", "WABA")),
            (tenant_account("t", "9"), ("T#t", "WABA#9")),
            (agent("t", "a"), ("T#t", "AGENT#a")),
            (customer_agent("t", "5511"), ("T#t", "CUST#5511")),
            (record(&k), ("T#t#A#a", "C#5511#1700000000")),
            (pointer("wamid.x"), ("W#wamid.x", "W")),
            (message_claim("1", "wamid.x"), ("M#1#wamid.x", "M")),
            (counter("t", "a", "5511"), ("Q#t#a#5511", "Q")),
        ];
        for (item, (pk, sk)) in cases {
            assert_eq!(pk_sk(&item), (pk.to_string(), sk.to_string()));
        }
        assert_eq!(idempotency_pk("t", "a", "k"), "I#t#a#k");
    }
}
