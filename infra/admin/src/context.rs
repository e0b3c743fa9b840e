//! What the commands act on.

use afterhours_adapters::store::Store;

use crate::directory::Directory;
use crate::outcome::AdminError;

/// What the commands act on: the table and, for users, the user pool.
pub struct Admin {
    pub store: Store,
    pub directory: Option<Directory>,
}

impl Admin {
    pub(crate) fn directory(&self) -> Result<&Directory, AdminError> {
        self.directory.as_ref().ok_or_else(|| {
            AdminError::Invalid(
                "No user pool: pass --user-pool-id or set USER_POOL_ID (the stack's UserPoolId output)."
                    .into(),
            )
        })
    }
}
