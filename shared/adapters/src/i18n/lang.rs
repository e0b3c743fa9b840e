//! The languages the desk speaks, and how a request names one.

/// A language the desk speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// The documented default of a new tenant.
    #[default]
    PtBr,
    EnUs,
    EsEs,
}

impl Lang {
    /// `pt_BR`, `pt-br`, `pt`, `en-US`, `es`...: the language it names, if one of ours.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "pt" => Some(Lang::PtBr),
            "en" => Some(Lang::EnUs),
            "es" => Some(Lang::EsEs),
            _ => None,
        }
    }

    /// The most preferred of ours in an `Accept-Language` header (by `q`,
    /// then by order); `None` when it names none of them.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, part) in header.split(',').enumerate().take(32) {
            let mut pieces = part.split(';');
            let Some(lang) = pieces.next().and_then(Lang::from_tag) else {
                continue;
            };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                best = Some((q, i, lang));
            }
        }
        best.map(|(_, _, l)| l)
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::PtBr => "pt_BR",
            Lang::EnUs => "en_US",
            Lang::EsEs => "es_ES",
        }
    }
}
