//! The DynamoDB single-table store. Item layout (see `infra/table.json`):
//!
//! | item | PK | SK | notes |
//! | --- | --- | --- | --- |
//! | channel | `CH#{phoneNumberId}` | `CHANNEL` | bound to one tenant by a conditional put |
//! | business account | `WABA#{wabaId}` | `WABA` | granted to one tenant by the operator ([`accounts`]) |
//! | settings | `T#{tenant}` | `SETTINGS` | a JSON document and its version |
//! | templates | `T#{tenant}` | `TEMPLATES` | each account's list, each number's account ([`templates`]) |
//! | tenant's accounts | `T#{tenant}` | `WABA#{wabaId}` | the accounts granted to it, to list them |
//! | tenant's channels | `T#{tenant}` | `CHAN#{phoneNumberId}` | a copy of each bound number, to list them |
//! | agent registry | `T#{tenant}` | `AGENT#{agent}` | an agent with live records, their name, their records by expiry hour; expires with their last |
//! | customer's agent | `T#{tenant}` | `CUST#{customer}` | who last sent them an active message |
//! | tenant registry | `TENANTS` | `T#{tenant}` | what the report walks |
//! | contact record | `T#{tenant}#A#{agent}` | `C#{customer}#{period}` | `LSK` (LSI1) orders by first contact; `GSI1PK/GSI1SK` only while a callback is pending; `GSI2PK/GSI2SK` list a customer's records; `seen`, its latest messages' fingerprints ([`dedup`]) |
//! | fingerprint bucket | `T#{tenant}#A#{agent}` | `C#{customer}#{period}#S{n}` | a full window of fingerprints the record spilled |
//! | message pointer | `W#{wamid}` | `W` | a prompt or active message this system sent → its record |
//! | cap counter | `Q#{tenant}#{agent}#{customer}` | `Q` | counted send times; TTL when idle |
//! | idempotency | `I#{tenant}#{agent}#{key}` | `I` | body hash and stored result; TTL |
//! | message claim | `M#{phoneNumberId}#{wamid}` | `M` | a message counted once, whatever record it went to, when its record's memory cannot vouch for it alone; TTL |
//!
//! [`keys`] builds every one of these keys; nothing else writes a key's text.
//!
//! The operations live beside the items they touch: [`tenants`] (channels,
//! settings, templates, the registry), [`ingest`] and [`dedup`] (a message
//! counted once), [`replies`] (prompts, taps, statuses),
//! [`desk`] (what the desk and a send read), [`handled`] (a contact marked handled), [`outcomes`] (what a send's
//! outcome writes), [`cap`] (the counter) and [`idempotency`]; [`item`] turns
//! stored items back into types.

mod accounts;
mod agents;
mod cap;
mod dedup;
mod desk;
mod handled;
mod idempotency;
mod ingest;
mod item;
pub mod keys;
mod outcomes;
mod replies;
mod templates;
mod tenants;

mod client;
pub use accounts::{Granted, Revoked};
pub use agents::{AgentEntry, AgentLoad};
pub use cap::{Counter, Reservation, Slot};
pub use desk::{Page, SendContext};
pub use idempotency::{IdempotencyClaim, IDEMPOTENCY_HOURS};
pub use item::record_of;
pub use templates::TemplateBook;
pub use tenants::{Routing, CUSTOMER_AGENT_DAYS};

pub use client::{
    DynamoFailure, Store, StoreError, Transaction, LSI, PENDING_INDEX, TRANSACT_RETRIES,
};

#[cfg(test)]
mod tests {
    use super::client::*;

    #[test]
    fn codes_keep_their_kind() {
        assert_eq!(
            failure_of_code("ProvisionedThroughputExceededException"),
            Some(DynamoFailure::Throttled)
        );
        assert_eq!(
            failure_of_code("ConditionalCheckFailed"),
            Some(DynamoFailure::ConditionalCheck)
        );
        assert_eq!(
            failure_of_code("ValidationException"),
            Some(DynamoFailure::Validation)
        );
        assert_eq!(
            failure_of_code("TransactionConflict"),
            Some(DynamoFailure::TransactionConflict)
        );
        assert_eq!(failure_of_code("None"), None);
    }
}
