//! How records are shown: the contact, the name, the times.

/// What the desk shows when the profile has no name.
pub const NO_NAME: &str = "(No name)";

/// `+` and the digits of a phone number; the business-scoped id when no phone is known.
pub fn contact(wa_id: Option<&str>, user_id: Option<&str>) -> String {
    match wa_id.map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>()) {
        Some(digits) if !digits.is_empty() => format!("+{digits}"),
        _ => user_id.unwrap_or_default().to_string(),
    }
}

/// The name to show.
pub fn display_name(name: Option<&str>) -> String {
    match name.map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => NO_NAME.to_string(),
    }
}

/// A phone number for logs: only the last 4 digits stay.
pub fn mask(id: &str) -> String {
    let n = id.chars().count();
    if n <= 4 {
        return "*".repeat(n);
    }
    let tail: String = id.chars().skip(n - 4).collect();
    format!("{}{tail}", "*".repeat(n - 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_is_plus_and_digits() {
        assert_eq!(contact(Some("55 (11) 99999-0000"), None), "+5511999990000");
        assert_eq!(
            contact(Some("5511999990000"), Some("BR.1")),
            "+5511999990000"
        );
    }

    #[test]
    fn business_scoped_id_when_no_phone() {
        assert_eq!(contact(None, Some("BR.123")), "BR.123");
        assert_eq!(contact(Some(""), Some("BR.123")), "BR.123");
    }

    #[test]
    fn missing_name_reads_no_name() {
        assert_eq!(display_name(None), "(No name)");
        assert_eq!(display_name(Some("  ")), "(No name)");
        assert_eq!(display_name(Some("Maria")), "Maria");
    }

    #[test]
    fn masking_keeps_only_the_last_four() {
        assert_eq!(mask("5511999990000"), "*********0000");
        assert_eq!(mask("123"), "***");
    }
}
