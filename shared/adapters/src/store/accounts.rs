//! Which WhatsApp Business Accounts a tenant may bind, and unbinding.
//!
//! The platform operator grants an account to one tenant (`afterhours-admin
//! account grant`): being listed by the Graph API under the platform's token
//! proves nothing, since every account shared with the platform is listed. A
//! tenant admin's binding then checks the grant inside its own transaction,
//! so a binding racing a revoke cannot slip through.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};

use super::client::{string_value, Store, StoreError, Transaction};
use super::item::{malformed, parse, whole, AccountItem};
use super::keys;
use crate::model::Channel;

/// What a grant did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granted {
    /// The account is now the tenant's.
    New,
    /// It already was; nothing changed.
    Already,
}

/// What a revoke did: whether the grant existed, and the numbers it unbound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub was_granted: bool,
    pub unbound: Vec<String>,
}

impl Store {
    /// The tenant an account is granted to, if any (read strongly consistent:
    /// it decides whether a binding may go on).
    pub async fn account_grantee(&self, waba: &str) -> Result<Option<String>, StoreError> {
        self.get_consistent(keys::account(waba))
            .await?
            .map(|i| {
                let grant: AccountItem = parse(&i)?;
                grant
                    .tenant_id
                    .ok_or_else(|| malformed(&i, "a grant names no tenant"))
            })
            .transpose()
    }

    /// Grants an account to a tenant. An account granted to another tenant is
    /// refused ([`StoreError::AccountTaken`]); granting it again to the same
    /// tenant changes nothing.
    pub async fn grant_account(&self, tenant: &str, waba: &str) -> Result<Granted, StoreError> {
        if self.account_grantee(waba).await?.as_deref() == Some(tenant) {
            return Ok(Granted::Already);
        }
        let account = whole(
            keys::account(waba),
            &AccountItem {
                tenant_id: Some(tenant.to_string()),
                waba_id: waba.to_string(),
            },
        )?;
        let mine = whole(
            keys::tenant_account(tenant, waba),
            &AccountItem {
                tenant_id: None,
                waba_id: waba.to_string(),
            },
        )?;
        let items = vec![
            self.put_for_tenant(account, tenant)?,
            self.plain_put(mine)?,
            self.register_tenant(tenant)?,
        ];
        match self.transact_or_reasons(items).await? {
            Transaction::Applied => Ok(Granted::New),
            Transaction::Refused(_) => Err(StoreError::AccountTaken(waba.to_string())),
        }
    }

    /// Takes an account back from a tenant: the grant first (so no new
    /// binding can use it), then every number of the tenant under it is
    /// unbound. Revoking an account that is not granted still unbinds what is
    /// left; one granted to another tenant is refused.
    pub async fn revoke_account(&self, tenant: &str, waba: &str) -> Result<Revoked, StoreError> {
        let grantee = self.account_grantee(waba).await?;
        let was_granted = match grantee.as_deref() {
            Some(t) if t == tenant => true,
            Some(_) => return Err(StoreError::AccountTaken(waba.to_string())),
            None => false,
        };
        if was_granted {
            let items = vec![
                self.delete_for_tenant(keys::account(waba), tenant)?,
                self.plain_delete(keys::tenant_account(tenant, waba))?,
            ];
            if let Transaction::Refused(_) = self.transact_or_reasons(items).await? {
                return Err(StoreError::AccountTaken(waba.to_string()));
            }
        }
        let mut unbound = Vec::new();
        for c in self.tenant_channels(tenant).await? {
            if c.waba_id == waba && self.unbind_channel(tenant, &c.phone_number_id).await? {
                unbound.push(c.phone_number_id);
            }
        }
        Ok(Revoked {
            was_granted,
            unbound,
        })
    }

    /// Unbinds a number from the tenant: the webhook ignores it from then on
    /// and its records stay until they expire. `false` when it was not bound
    /// to this tenant (nothing changes).
    pub async fn unbind_channel(
        &self,
        tenant: &str,
        phone_number_id: &str,
    ) -> Result<bool, StoreError> {
        let items = vec![
            self.delete_for_tenant(keys::channel(phone_number_id), tenant)?,
            self.plain_delete(keys::tenant_channel(tenant, phone_number_id))?,
        ];
        match self.transact_or_reasons(items).await? {
            Transaction::Applied => Ok(true),
            Transaction::Refused(_) => Ok(false),
        }
    }

    /// The binding's check that the account is granted to the channel's
    /// tenant, as one part of its transaction.
    pub(super) fn granted_to(&self, c: &Channel) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(keys::account(&c.waba_id)))
            .condition_expression("tenantId = :t")
            .expression_attribute_values(":t", string_value(&c.tenant_id))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// A put of an item that one tenant owns (a number, an account), as one
    /// part of a transaction: it applies only when the item is new or
    /// already that tenant's.
    pub(super) fn put_for_tenant(
        &self,
        item: super::client::Item,
        tenant: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR tenantId = :t")
            .expression_attribute_values(":t", string_value(tenant))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A delete of an item that one tenant owns, as one part of a
    /// transaction: it applies only when the item is that tenant's.
    fn delete_for_tenant(
        &self,
        k: super::client::Item,
        tenant: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(k))
            .condition_expression("tenantId = :t")
            .expression_attribute_values(":t", string_value(tenant))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// An unconditional delete, as one part of a transaction.
    fn plain_delete(&self, k: super::client::Item) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(k))
            .build()
            .map_err(StoreError::build)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}
