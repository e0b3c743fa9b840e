//! The language of a request's answer: `Accept-Language` when it names one
//! of ours, else the tenant's (from its settings), else `pt_BR`.

use std::sync::OnceLock;
use std::time::Duration;

use crate::i18n::{asked, Lang};
use crate::store::Store;
use crate::tenant::TtlCache;

use super::{ApiRequest, Caller};

/// How long an instance keeps tenants' languages: its settings cache period
/// (set once, from the configuration, at cold start).
static PERIOD: OnceLock<Duration> = OnceLock::new();

/// Keeps tenants' languages as long as their settings (the first call wins).
pub fn cache_languages_for(period: Duration) {
    let _ = PERIOD.set(period);
}

/// Tenants' languages, so that an error costs at most one settings read per
/// tenant and settings cache period in one Lambda instance.
fn languages() -> &'static TtlCache<String, Lang> {
    static CACHE: OnceLock<TtlCache<String, Lang>> = OnceLock::new();
    CACHE.get_or_init(|| {
        let period = PERIOD.get().copied().unwrap_or(crate::tenant::RULES_TTL);
        TtlCache::new(period, 10_000)
    })
}

/// The language asked by the request's `Accept-Language`, if one of ours.
pub fn asked_by(req: &ApiRequest) -> Option<Lang> {
    asked(req.header("accept-language"))
}

/// The answer's language for a handler that already read the tenant's settings.
pub fn answer_language(req: &ApiRequest, tenant_language: &str) -> Lang {
    crate::i18n::answer_language(req.header("accept-language"), tenant_language)
}

/// The answer's language when the handler did not read the settings (an
/// error): at most one settings read per tenant and cache period.
pub async fn language_of(store: &Store, req: &ApiRequest) -> Lang {
    if let Some(l) = asked_by(req) {
        return l;
    }
    let Ok(caller) = Caller::from_claims(&req.claims) else {
        return Lang::default();
    };
    if let Some(l) = languages().get(&caller.tenant) {
        return l;
    }
    let lang = match store.get_settings(&caller.tenant).await {
        Ok(doc) => doc
            .as_ref()
            .and_then(|d| d["language"].as_str())
            .and_then(Lang::from_tag)
            .unwrap_or_default(),
        Err(_) => Lang::default(),
    };
    languages().put(caller.tenant, lang);
    lang
}
