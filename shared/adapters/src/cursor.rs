//! Opaque, signed list cursors: a client can neither read nor change one, and a
//! cursor issued for one agent, tenant or filter is refused for any other.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::ConfigError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Clone)]
pub struct CursorSigner {
    keyed: Hmac<Sha256>,
}

impl CursorSigner {
    /// A signer with this secret; an empty one is refused (at startup, when
    /// the function reads `CURSOR_SECRET`).
    pub fn new(secret: &[u8]) -> Result<Self, ConfigError> {
        if secret.is_empty() {
            return Err(ConfigError("CURSOR_SECRET is empty".into()));
        }
        let keyed = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|e| ConfigError(format!("CURSOR_SECRET: {e}")))?;
        Ok(CursorSigner { keyed })
    }

    fn mac(&self, scope: &str, payload: &str) -> Vec<u8> {
        let mut m = self.keyed.clone();
        m.update(scope.as_bytes());
        m.update(b"\0");
        m.update(payload.as_bytes());
        m.finalize().into_bytes()[..16].to_vec()
    }

    /// Seals the position (sort key, index key) of a page for one scope.
    pub fn seal(&self, scope: &str, sk: &str, lsk: &str) -> String {
        let payload = format!("{sk}\n{lsk}");
        format!(
            "{}.{}",
            B64.encode(&payload),
            B64.encode(self.mac(scope, &payload))
        )
    }

    /// Opens a cursor for this scope; `None` when it was changed or issued for another.
    pub fn open(&self, scope: &str, cursor: &str) -> Option<(String, String)> {
        let (p, m) = cursor.split_once('.')?;
        let payload = String::from_utf8(B64.decode(p).ok()?).ok()?;
        let mac = B64.decode(m).ok()?;
        let mut check = self.keyed.clone();
        check.update(scope.as_bytes());
        check.update(b"\0");
        check.update(payload.as_bytes());
        check.verify_truncated_left(&mac).ok()?;
        if mac.len() != 16 {
            return None;
        }
        let (sk, lsk) = payload.split_once('\n')?;
        Some((sk.to_string(), lsk.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_secret_is_refused_at_startup() {
        assert_eq!(
            CursorSigner::new(b"").err(),
            Some(ConfigError("CURSOR_SECRET is empty".into()))
        );
    }

    #[test]
    fn a_cursor_opens_only_in_its_scope_and_unchanged() {
        let s = CursorSigner::new(b"secret").unwrap();
        let c = s.seal("T#t1#A#a-1|None|None", "C#1#2", "0001#x");
        assert_eq!(
            s.open("T#t1#A#a-1|None|None", &c),
            Some(("C#1#2".into(), "0001#x".into()))
        );
        assert_eq!(s.open("T#t2#A#a-1|None|None", &c), None);
        assert_eq!(s.open("T#t1#A#a-2|None|None", &c), None);
        let mut tampered = c.clone();
        tampered.replace_range(0..1, if c.starts_with('A') { "B" } else { "A" });
        assert_eq!(s.open("T#t1#A#a-1|None|None", &tampered), None);
        assert_eq!(
            CursorSigner::new(b"other")
                .unwrap()
                .open("T#t1#A#a-1|None|None", &c),
            None
        );
        assert_eq!(s.open("T#t1#A#a-1|None|None", "garbage"), None);
    }
}
