//! The people: users of the Cognito user pool, with the tenant in
//! `custom:tenant_id` (which no app client may write) and the role as a group.

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, AttributeType, DeliveryMediumType, SchemaAttributeType,
    UsernameAttributeType,
};
use aws_sdk_cognitoidentityprovider::Client;

use crate::outcome::AdminError;

/// The tenant attribute, as tokens carry it.
pub const TENANT_ATTRIBUTE: &str = "custom:tenant_id";
/// The roles, as the pool's groups.
pub const GROUPS: [&str; 3] = ["agent", "supervisor", "admin"];

/// A user pool.
pub struct Directory {
    pub client: Client,
    pub pool: String,
}

/// A user just created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The user's `sub`: their id on the desk.
    pub id: String,
    pub email: String,
}

fn failed(what: &str, e: impl ProvideErrorMetadata + std::fmt::Debug) -> AdminError {
    AdminError::Failed(format!(
        "Cognito could not {what}: {}",
        e.message()
            .map_or_else(|| format!("{e:?}"), ToString::to_string)
    ))
}

fn attribute(name: &str, value: &str) -> Result<AttributeType, AdminError> {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| AdminError::Failed(e.to_string()))
}

impl Directory {
    /// Whether a user with this email exists in the pool, and their tenant.
    pub async fn tenant_of(&self, email: &str) -> Result<Option<String>, AdminError> {
        match self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool)
            .username(email)
            .send()
            .await
        {
            Ok(user) => Ok(Some(
                user.user_attributes()
                    .iter()
                    .find(|a| a.name() == TENANT_ATTRIBUTE)
                    .and_then(|a| a.value())
                    .unwrap_or("")
                    .to_string(),
            )),
            Err(e) if e.code() == Some("UserNotFoundException") => Ok(None),
            Err(e) => Err(failed("look the user up", e)),
        }
    }

    /// Refuses an email that already has a user, saying whose tenant they
    /// are in (before anything is written).
    pub async fn must_be_new(&self, email: &str) -> Result<(), AdminError> {
        match self.tenant_of(email).await? {
            Some(theirs) => Err(AdminError::Refused(format!(
                "A user with email {email} already exists (tenant {theirs}); nothing was changed."
            ))),
            None => Ok(()),
        }
    }

    /// Creates a user of `tenant` in `group`; Cognito emails a temporary
    /// password. Call [`Directory::must_be_new`] first: a user created in
    /// between is still refused, by Cognito.
    pub async fn create_user(
        &self,
        tenant: &str,
        email: &str,
        name: Option<&str>,
        group: &str,
    ) -> Result<NewUser, AdminError> {
        let mut attributes = vec![
            attribute("email", email)?,
            attribute("email_verified", "true")?,
            attribute(TENANT_ATTRIBUTE, tenant)?,
        ];
        if let Some(n) = name {
            attributes.push(attribute("name", n)?);
        }
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool)
            .username(email)
            .set_user_attributes(Some(attributes))
            .desired_delivery_mediums(DeliveryMediumType::Email)
            .send()
            .await
            .map_err(|e| match e.code() {
                Some("UsernameExistsException") => AdminError::Refused(format!(
                    "A user with email {email} already exists; nothing was changed."
                )),
                _ => failed("create the user", e),
            })?;
        let user = created.user();
        let id = user
            .into_iter()
            .flat_map(|u| u.attributes())
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .or_else(|| user.and_then(|u| u.username()))
            .unwrap_or(email)
            .to_string();
        self.client
            .admin_add_user_to_group()
            .user_pool_id(&self.pool)
            .username(email)
            .group_name(group)
            .send()
            .await
            .map_err(|e| failed(&format!("add the user to the {group} group"), e))?;
        Ok(NewUser {
            id,
            email: email.to_string(),
        })
    }

    /// The groups a user is in.
    pub async fn groups_of(&self, email: &str) -> Result<Vec<String>, AdminError> {
        let res = self
            .client
            .admin_list_groups_for_user()
            .user_pool_id(&self.pool)
            .username(email)
            .send()
            .await
            .map_err(|e| failed("list the user's groups", e))?;
        Ok(res
            .groups()
            .iter()
            .filter_map(|g| g.group_name().map(str::to_string))
            .collect())
    }

    /// Finds the pool named `name`, or creates it shaped like the template's
    /// (sign-in by email, `custom:tenant_id`, the three groups). For the
    /// local stack: in AWS the template creates the pool.
    pub async fn ensure_local_pool(client: Client, name: &str) -> Result<Directory, AdminError> {
        let pools = client
            .list_user_pools()
            .max_results(60)
            .send()
            .await
            .map_err(|e| failed("list the user pools", e))?;
        let existing = pools
            .user_pools()
            .iter()
            .find(|p| p.name() == Some(name))
            .and_then(|p| p.id().map(str::to_string));
        let pool = match existing {
            Some(id) => id,
            None => {
                let tenant = SchemaAttributeType::builder()
                    .name("tenant_id")
                    .attribute_data_type(AttributeDataType::String)
                    .mutable(true)
                    .build();
                client
                    .create_user_pool()
                    .pool_name(name)
                    .username_attributes(UsernameAttributeType::Email)
                    .schema(tenant)
                    .send()
                    .await
                    .map_err(|e| failed("create the user pool", e))?
                    .user_pool()
                    .and_then(|p| p.id())
                    .ok_or_else(|| AdminError::Failed("Cognito returned no pool id".into()))?
                    .to_string()
            }
        };
        for group in GROUPS {
            match client
                .create_group()
                .user_pool_id(&pool)
                .group_name(group)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if e.code() == Some("GroupExistsException") => {}
                Err(e) => return Err(failed(&format!("create the {group} group"), e)),
            }
        }
        Ok(Directory { client, pool })
    }
}
