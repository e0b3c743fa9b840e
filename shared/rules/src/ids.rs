//! Identifiers that end up inside DynamoDB keys (tenant, agent, customer),
//! parsed in one place: a key separator (`#`) inside one would let it reach
//! another's items, and DynamoDB refuses keys over 2,048 bytes.

use std::fmt;

/// The longest identifier accepted, in characters.
pub const MAX_ID_CHARS: usize = 128;

/// An identifier that is safe to put in a key: trimmed, 1 to 128 characters, no `#`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(String);

/// Why a text is not an identifier; names what it was meant to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{0} is longer than 128 characters")]
    TooLong(&'static str),
    #[error("{0} contains '#', which is not allowed")]
    Separator(&'static str),
}

impl IdentError {
    /// What the identifier was meant to be (`agentId`, `sub`, ...).
    pub fn what(&self) -> &'static str {
        match self {
            IdentError::Empty(w) | IdentError::TooLong(w) | IdentError::Separator(w) => w,
        }
    }
}

impl Ident {
    /// Reads `raw` as the identifier `what` (the name used in error messages).
    pub fn parse(what: &'static str, raw: &str) -> Result<Ident, IdentError> {
        let s = raw.trim();
        if s.is_empty() {
            Err(IdentError::Empty(what))
        } else if s.chars().count() > MAX_ID_CHARS {
            Err(IdentError::TooLong(what))
        } else if s.contains('#') {
            Err(IdentError::Separator(what))
        } else {
            Ok(Ident(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for Ident {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A WhatsApp phone number id as Meta writes them: 1 to 64 letters, digits,
/// `_` or `-` (it goes into a key and into Graph API URLs).
pub fn is_phone_number_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A WhatsApp Business Account id as Meta writes them: 1 to 32 digits.
pub fn is_waba_id(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A customer named by the desk (`+55 11 99999-0000`, `5511999990000`, or a
/// business-scoped user id such as `BR.1a2b3c`), as the customer key the
/// webhook stores: the phone's digits as WhatsApp writes them (`wa_id`), or
/// the business-scoped id as it is. `None` when it is neither.
pub fn customer_of(contact: &str) -> Option<String> {
    if contact.chars().count() > MAX_ID_CHARS {
        return None;
    }
    let c = contact.trim();
    let phone_like = c
        .chars()
        .all(|ch| ch.is_ascii_digit() || " +-().".contains(ch));
    if phone_like {
        let digits: String = c.chars().filter(char::is_ascii_digit).collect();
        let plus_at_most_first = c.rfind('+').is_none_or(|i| i == 0);
        return ((7..=15).contains(&digits.len()) && plus_at_most_first).then_some(digits);
    }
    let scoped = c.len() <= MAX_ID_CHARS
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ".-_".contains(ch))
        && c.chars().any(|ch| ch.is_ascii_alphabetic());
    scoped.then(|| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_account_ids_are_one_to_32_digits() {
        assert!(is_waba_id("1"));
        assert!(is_waba_id(&"9".repeat(32)));
        assert!(!is_waba_id(&"9".repeat(33)));
        assert!(!is_waba_id(""));
        assert!(!is_waba_id("12a"));
        assert!(!is_waba_id(" 12"));
        assert!(!is_waba_id("../me"));
    }

    #[test]
    fn an_identifier_reads_back_as_given_and_its_error_names_it() {
        let id = Ident::parse("agentId", " a-1 ").unwrap();
        assert_eq!(id.to_string(), "a-1");
        assert_eq!(id.clone().into_string(), "a-1");
        for (raw, what) in [
            ("", "agentId"),
            ("a#b", "agentId"),
            (&*"x".repeat(129), "agentId"),
        ] {
            assert_eq!(Ident::parse("agentId", raw).unwrap_err().what(), what);
        }
        assert_eq!(Ident::parse("sub", "").unwrap_err().what(), "sub");
    }

    #[test]
    fn phone_number_ids_are_letters_digits_underscores_and_dashes() {
        for good in ["1", "100000000000001", "ab_C-9", &"1".repeat(64)] {
            assert!(is_phone_number_id(good), "{good}");
        }
        for bad in ["", &"1".repeat(65), "12 3", "1#2", "1/2", "1.2", "ção"] {
            assert!(!is_phone_number_id(bad), "{bad}");
        }
    }

    #[test]
    fn identifiers_are_trimmed_and_bounded() {
        assert_eq!(Ident::parse("agentId", " a-1 ").unwrap().as_str(), "a-1");
        assert_eq!(
            Ident::parse("agentId", &"é".repeat(128)).unwrap().len(),
            256
        );
        assert_eq!(
            Ident::parse("agentId", &"x".repeat(129)),
            Err(IdentError::TooLong("agentId"))
        );
        assert_eq!(
            Ident::parse("sub", "a#b"),
            Err(IdentError::Separator("sub"))
        );
        assert_eq!(Ident::parse("sub", "  "), Err(IdentError::Empty("sub")));
        assert_eq!(
            Ident::parse("tenant", "x#").unwrap_err().to_string(),
            "tenant contains '#', which is not allowed"
        );
    }

    #[test]
    fn customers_are_named_by_number_or_business_scoped_id() {
        for (raw, key) in [
            ("+5511999990000", Some("5511999990000")),
            ("+55 (11) 99999-0000", Some("5511999990000")),
            ("5511999990000", Some("5511999990000")),
            (" BR.1a2b3c ", Some("BR.1a2b3c")),
            ("123", None),
            ("+1234567890123456", None),
            ("55+11999990000", None),
            ("", None),
            ("a#b", None),
            ("../x", None),
            ("maria@example.com", None),
        ] {
            assert_eq!(customer_of(raw).as_deref(), key, "{raw:?}");
        }
        // At most 128 characters as written, separators and spaces included.
        let padded = |n: usize| format!("+5511999990000{}", " ".repeat(n - 14));
        assert_eq!(
            customer_of(&padded(MAX_ID_CHARS)).as_deref(),
            Some("5511999990000")
        );
        assert_eq!(customer_of(&padded(MAX_ID_CHARS + 1)), None);
    }
}
