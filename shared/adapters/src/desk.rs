//! What every desk route starts from, decided once per request before the
//! route runs: who calls (from the verified claims) and the language of the
//! answer. Every answer of the request, errors included, is then written in
//! that language without reading anything again.

use crate::http::{ApiError, ApiRequest, ApiResponse, Caller};
use crate::i18n::{asked, Lang};
use crate::store::Store;
use crate::tenant::RulesCache;

/// A desk request's caller and the answer's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskRequest {
    pub caller: Caller,
    /// `Accept-Language` when it names one of ours, else the tenant's, else `pt_BR`.
    pub lang: Lang,
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
        let lang = match asked {
            Some(lang) => lang,
            None => match rules.get(store, &caller.tenant).await {
                Ok(r) => Lang::from_tag(&r.settings.language).unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(error = %e, "the tenant's language could not be read");
                    Lang::default()
                }
            },
        };
        Ok(DeskRequest { caller, lang })
    }

    /// The route's result as the answer, an error in the request's language.
    pub fn respond(&self, result: Result<ApiResponse, ApiError>) -> ApiResponse {
        result.unwrap_or_else(|e| e.to_response_in(self.lang))
    }
}
