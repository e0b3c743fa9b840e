//! What every desk route starts from, decided once per request before the
//! route runs: who calls (from the verified claims) and the language of the
//! answer. Every answer of the request, errors included, is then written in
//! that language without reading anything again. The tenant's rules, once
//! read for the request, are kept with it.

use std::sync::Arc;

use afterhours_rules::settings::TenantRules;
use tokio::sync::OnceCell;

use crate::http::{ApiError, ApiRequest, ApiResponse, Caller};
use crate::i18n::{asked, Lang};
use crate::store::{Store, StoreError};
use crate::tenant::RulesCache;

/// A desk request's caller, the answer's language, and the tenant's rules
/// once something read them.
#[derive(Debug)]
pub struct DeskRequest {
    pub caller: Caller,
    /// `Accept-Language` when it names one of ours, else the tenant's, else `pt_BR`.
    pub lang: Lang,
    rules: OnceCell<Arc<TenantRules>>,
}

impl DeskRequest {
    /// Reads the caller, then the answer's language: the one
    /// `Accept-Language` asks for costs nothing; else the tenant's, from the
    /// rules the instance keeps (read when not kept, as the route would read
    /// them anyway; unreadable, `pt_BR`, and the route says what failed).
    /// A caller that cannot be read is refused at once, in the asked
    /// language or `pt_BR`: without a tenant there is no other to speak.
    pub async fn open(
        store: &Store,
        rules: &RulesCache,
        req: &ApiRequest,
    ) -> Result<DeskRequest, ApiResponse> {
        let asked = asked(req.header("accept-language"));
        let caller = Caller::from_claims(&req.claims)
            .map_err(|e| e.to_response_in(asked.unwrap_or_default()))?;
        let known = OnceCell::new();
        let lang = match asked {
            Some(lang) => lang,
            None => match rules.get(store, &caller.tenant).await {
                Ok(r) => {
                    let lang = Lang::from_tag(&r.settings.language).unwrap_or_default();
                    let _ = known.set(r);
                    lang
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the tenant's language could not be read");
                    Lang::default()
                }
            },
        };
        Ok(DeskRequest {
            caller,
            lang,
            rules: known,
        })
    }

    /// The caller's tenant's rules: read at most once per request (from the
    /// instance's cache), whoever asks first, the language included.
    pub async fn rules(
        &self,
        store: &Store,
        cache: &RulesCache,
    ) -> Result<Arc<TenantRules>, StoreError> {
        self.rules
            .get_or_try_init(|| cache.get(store, &self.caller.tenant))
            .await
            .cloned()
    }

    /// The route's result as the answer, an error in the request's language.
    pub fn respond(&self, result: Result<ApiResponse, ApiError>) -> ApiResponse {
        result.unwrap_or_else(|e| e.to_response_in(self.lang))
    }
}
