//! A tenant's settings and templates as the functions use them, and a small
//! time-bounded cache for what the webhook reads on every message.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use afterhours_rules::settings::{self, Settings, TenantRules};
use afterhours_rules::templates::{parse_template_list, Template};
use serde_json::Value;

use crate::config::RULES_TTL;
use crate::store::{Store, StoreError};

/// Tenants' rules, read from the store at most once per period per instance.
pub struct RulesCache(TtlCache<String, Saved>);

/// A tenant's rules, and when their settings were saved (epoch seconds).
type Saved = (Arc<TenantRules>, i64);

impl Default for RulesCache {
    /// Cached for [`RULES_TTL`].
    fn default() -> Self {
        RulesCache(TtlCache::new(RULES_TTL, 10_000))
    }
}

impl RulesCache {
    /// Each tenant's rules kept for `ttl` (zero: read on every request).
    pub fn new(ttl: Duration) -> Self {
        RulesCache(TtlCache::new(ttl, 10_000))
    }

    /// How long an instance may keep using rules another one replaced.
    pub fn ttl(&self) -> Duration {
        self.0.ttl
    }

    /// Drops a tenant's rules, so the next request reads them again (after
    /// this instance saved new settings).
    pub fn forget(&self, tenant: &str) {
        self.0.remove(&tenant.to_string());
    }

    pub async fn get(&self, store: &Store, tenant: &str) -> Result<Arc<TenantRules>, StoreError> {
        Ok(self.get_saved(store, tenant).await?.0)
    }

    /// The rules and when their settings were saved: 0 when the tenant never
    /// saved any, as late as can be for settings saved before the time was kept.
    pub async fn get_saved(&self, store: &Store, tenant: &str) -> Result<Saved, StoreError> {
        if let Some(r) = self.0.get(&tenant.to_string()) {
            return Ok(r);
        }
        let (doc, saved_at) = store.get_settings_saved(tenant).await?;
        let saved = (Arc::new(rules_of(doc.as_ref())), saved_at);
        self.0.put(tenant.to_string(), saved.clone());
        Ok(saved)
    }
}

/// The tenant's rules from its stored settings; a tenant that saved none gets
/// the documented defaults. Stored settings were validated when written.
pub fn rules_of(doc: Option<&Value>) -> TenantRules {
    let default =
        || settings::validate(&serde_json::to_value(Settings::default()).unwrap_or_default());
    let parsed = match doc {
        Some(d) => settings::validate(d).or_else(|errors| {
            tracing::error!(
                ?errors,
                "stored settings no longer validate; using defaults"
            );
            default()
        }),
        None => default(),
    };
    parsed.unwrap_or_else(|_| unreachable_defaults())
}

fn unreachable_defaults() -> TenantRules {
    // The defaults are valid (a unit test checks it); this keeps the code panic-free anyway.
    let s = Settings::default();
    TenantRules {
        schedule: afterhours_rules::hours::Schedule::always_open(chrono_tz::UTC),
        settings: s,
    }
}

/// The stored template list (Meta's JSON), read leniently: entries that do not parse are skipped.
pub fn templates_of(doc: Option<&Value>) -> Vec<Template> {
    let Some(doc) = doc else { return vec![] };
    parse_template_list(doc).unwrap_or_else(|e| {
        tracing::error!(error = %e, "stored templates no longer parse");
        vec![]
    })
}

/// A map whose entries live for a bounded time (per Lambda instance).
pub struct TtlCache<K, V> {
    ttl: Duration,
    max_entries: usize,
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        TtlCache {
            ttl,
            max_entries,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, k: &K) -> Option<V> {
        let map = self.map.lock().ok()?;
        map.get(k)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, k: K, v: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.max_entries {
                let ttl = self.ttl;
                map.retain(|_, (at, _)| at.elapsed() < ttl);
                if map.len() >= self.max_entries {
                    map.clear();
                }
            }
            map.insert(k, (Instant::now(), v));
        }
    }

    pub fn remove(&self, k: &K) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_without_settings_gets_the_defaults() {
        let r = rules_of(None);
        assert_eq!(r.settings, Settings::default());
        assert!(!r.schedule.always_open);
        assert_eq!(r.cap(), None, "the cap is an option an admin turns on");
    }

    #[test]
    fn cache_entries_expire() {
        let c = TtlCache::new(Duration::from_millis(0), 4);
        c.put("a", 1);
        assert_eq!(c.get(&"a"), None);
    }

    #[test]
    fn a_full_cache_evicts_expired_entries_first_then_everything() {
        let len = |c: &TtlCache<&str, i32>| c.map.lock().unwrap().len();
        // Expired entries are removed (not only hidden) once the cache is full.
        let c = TtlCache::new(Duration::from_millis(0), 2);
        c.put("a", 1);
        c.put("b", 2);
        assert_eq!(len(&c), 2);
        c.put("c", 3);
        assert_eq!(len(&c), 1);
        // Live entries: a full cache starts over rather than grow past its bound.
        let c = TtlCache::new(Duration::from_secs(60), 2);
        c.put("a", 1);
        c.put("b", 2);
        assert_eq!((c.get(&"a"), c.get(&"b")), (Some(1), Some(2)));
        c.put("c", 3);
        assert_eq!(len(&c), 1);
        assert_eq!(
            (c.get(&"a"), c.get(&"b"), c.get(&"c")),
            (None, None, Some(3))
        );
        // Overwriting a key of a cache that is not full keeps the others.
        c.put("c", 4);
        c.put("d", 5);
        assert_eq!((c.get(&"c"), c.get(&"d")), (Some(4), Some(5)));
    }
}
