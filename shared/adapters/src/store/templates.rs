//! Templates belong to a WhatsApp Business Account. One item per tenant
//! (`T#{tenant}` / `TEMPLATES`) holds every account's list (`acct_{wabaId}`),
//! which account each bound number belongs to (`chan_{phoneNumberId}`), and a
//! list for any channel (`doc`, from before templates were per account, and
//! what seeds write). One item keeps a send at one batch read: the record
//! names its channel, this item its account and that account's templates.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde_json::Value;

use super::client::{dynamo, string_value, Item, Store, StoreError};
use super::item::malformed;
use crate::model::Channel;

const ACCOUNT: &str = "acct_";
const CHANNEL: &str = "chan_";

/// What the templates item holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateBook {
    /// A list for every channel (Meta's `{"data": [...]}`), if one was stored.
    pub any: Option<Value>,
    /// Each business account's list, by `wabaId`.
    pub accounts: BTreeMap<String, Value>,
    /// The account of each bound number, by phone number id.
    pub channels: BTreeMap<String, String>,
}

impl TemplateBook {
    /// The list that applies to an account: its own once one was stored,
    /// else the any-channel list.
    pub fn list_for(&self, waba: Option<&str>) -> Option<&Value> {
        waba.and_then(|w| self.accounts.get(w))
            .or(self.any.as_ref())
    }
}

/// Reads the templates item.
pub(super) fn book_of(item: &Item) -> Result<TemplateBook, StoreError> {
    let mut book = TemplateBook::default();
    for (name, value) in item {
        let text = || {
            value
                .as_s()
                .map_err(|_| malformed(item, format!("{name} is not text")))
        };
        let json = || serde_json::from_str::<Value>(text()?).map_err(|e| malformed(item, e));
        if name == "doc" {
            book.any = Some(json()?);
        } else if let Some(waba) = name.strip_prefix(ACCOUNT) {
            book.accounts.insert(waba.to_string(), json()?);
        } else if let Some(pnid) = name.strip_prefix(CHANNEL) {
            book.channels.insert(pnid.to_string(), text()?.clone());
        }
    }
    Ok(book)
}

impl Store {
    /// The tenant's templates, every account's (empty when none were stored).
    pub async fn get_templates(&self, tenant: &str) -> Result<TemplateBook, StoreError> {
        match self.get(super::keys::templates(tenant)).await? {
            Some(item) => book_of(&item),
            None => Ok(TemplateBook::default()),
        }
    }

    /// Sets one attribute of the templates item, leaving the others.
    fn set_in_book(
        &self,
        tenant: &str,
        attribute: String,
        value: String,
    ) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(super::keys::templates(tenant)))
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", string_value(value))
            .build()
            .map_err(StoreError::build)
    }

    /// Replaces one business account's templates (Meta's `{"data": [...]}`).
    /// All accounts share one item of at most 400 KB: a list that makes it
    /// larger is a `Validation` failure and changes nothing.
    pub async fn put_account_templates(
        &self,
        tenant: &str,
        waba: &str,
        templates: &Value,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(super::keys::templates(tenant)))
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", format!("{ACCOUNT}{waba}"))
            .expression_attribute_values(":v", string_value(templates.to_string()))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(())
    }

    /// Stores a template list for every channel (seeds, and tenants that
    /// keep one list); an account's own list, once stored, takes precedence.
    pub async fn put_templates(&self, tenant: &str, templates: &Value) -> Result<(), StoreError> {
        let update = self.set_in_book(tenant, "doc".into(), templates.to_string())?;
        self.transact(vec![
            TransactWriteItem::builder().update(update).build(),
            self.register_tenant(tenant)?,
        ])
        .await
    }

    /// Notes which account a bound number belongs to (one part of the binding's transaction).
    pub(super) fn channel_in_book(&self, c: &Channel) -> Result<TransactWriteItem, StoreError> {
        let update = self.set_in_book(
            &c.tenant_id,
            format!("{CHANNEL}{}", c.phone_number_id),
            c.waba_id.clone(),
        )?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
