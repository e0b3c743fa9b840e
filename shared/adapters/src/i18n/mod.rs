//! Messages for people in the tenant's language: `pt_BR`, `en_US`
//! or `es_ES`, the request's `Accept-Language` winning when it names one of
//! them. Handlers write their errors in English, with the details a person
//! needs; [`localize`] gives the sentence of the answer's language from the
//! error's `code` (which never changes) and its details. English keeps the
//! handler's own sentence.

mod catalog;

use afterhours_rules::cap::human_duration;
use chrono::DateTime;
use serde_json::{Map, Value};

use crate::error_code::ErrorCode;

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

/// The language `Accept-Language` asks for, when it names one of ours.
pub fn asked(accept_language: Option<&str>) -> Option<Lang> {
    accept_language.and_then(Lang::from_accept_language)
}

/// The language of an answer: `Accept-Language` first, then the tenant's,
/// else `pt_BR`.
pub fn answer_language(accept_language: Option<&str>, tenant_language: &str) -> Lang {
    asked(accept_language)
        .or_else(|| Lang::from_tag(tenant_language))
        .unwrap_or_default()
}

/// An error's sentence in `lang`, by its code: `english` (the handler's own)
/// in English, the catalog's (with the details filled in) in the others.
pub fn localize(
    code: ErrorCode,
    english: &str,
    details: &Map<String, Value>,
    lang: Lang,
) -> String {
    if lang == Lang::EnUs {
        return english.to_string();
    }
    match code {
        ErrorCode::ActiveMessageLimitReached => {
            cap_refusal(details, lang).unwrap_or_else(|| catalog::sentence(code, english, lang))
        }
        ErrorCode::WhatsappRejected => {
            let code = details
                .get("whatsappCode")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            catalog::meta_explanation(code, lang).to_string()
        }
        _ => catalog::sentence(code, english, lang),
    }
}

/// Meta's error code explained for an agent, in `lang`.
pub fn meta_sentence(code: i64, lang: Lang) -> String {
    match lang {
        Lang::EnUs => crate::graph::explain(code).to_string(),
        _ => catalog::meta_explanation(code, lang).to_string(),
    }
}

/// The per-variable details of a 422 (`{"variable", "problem", "message"}`)
/// with their `message` in `lang`, from the `problem` code.
pub fn localize_details(details: &mut Map<String, Value>, lang: Lang) {
    if lang == Lang::EnUs {
        return;
    }
    let Some(Value::Array(items)) = details.get_mut("details") else {
        return;
    };
    for item in items {
        let (Some(var), Some(problem)) = (
            item.get("variable").and_then(Value::as_str),
            item.get("problem").and_then(Value::as_str),
        ) else {
            continue;
        };
        if let Some(m) = catalog::variable_problem(problem, var, lang) {
            item["message"] = Value::String(m);
        }
    }
}

/// The cap refusal's sentence, from its details: the local time it becomes
/// possible (with the date when that is not today) and how long until then.
fn cap_refusal(details: &Map<String, Value>, lang: Lang) -> Option<String> {
    let at = DateTime::parse_from_rfc3339(details.get("availableAt")?.as_str()?).ok()?;
    let wait = details.get("retryAfterSeconds")?.as_i64()?;
    let quota = details.get("quota")?;
    let (used, limit) = (quota["used"].as_i64()?, quota["limit"].as_i64()?);
    // "Now" in the tenant's zone is the availability minus the wait.
    let now = at - chrono::Duration::seconds(wait);
    let when = if now.date_naive() == at.date_naive() {
        at.format("%H:%M").to_string()
    } else {
        at.format("%d/%m %H:%M").to_string()
    };
    let left = human_duration(wait);
    Some(match lang {
        Lang::PtBr => format!(
            "Este cliente já recebeu {used} mensagens ativas suas nas últimas 24 horas (limite {limit}). Você poderá enviar outra às {when} (em {left})."
        ),
        Lang::EsEs => format!(
            "Este cliente ya recibió {used} mensajes activos suyos en las últimas 24 horas (límite {limit}). Podrá enviar otro a las {when} (en {left})."
        ),
        Lang::EnUs => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accept_language_picks_the_most_preferred_of_ours() {
        for (h, l) in [
            ("es-ES,es;q=0.9,en;q=0.8", Some(Lang::EsEs)),
            ("fr-FR, en-US;q=0.5, pt-BR;q=0.7", Some(Lang::PtBr)),
            ("en", Some(Lang::EnUs)),
            ("pt_BR", Some(Lang::PtBr)),
            ("fr, de", None),
            ("en;q=0, es;q=0.1", Some(Lang::EsEs)),
            ("", None),
            ("en;q=abc", Some(Lang::EnUs)),
        ] {
            assert_eq!(Lang::from_accept_language(h), l, "{h:?}");
        }
    }

    const CAP: ErrorCode = ErrorCode::ActiveMessageLimitReached;
    const CAP_EN: &str = "This customer already got 2 active messages from you in the last 24 hours (limit 2). You can send another active message to this customer at 09:31 (in 52 min).";

    fn refusal(at: &str, wait: i64) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("availableAt".into(), json!(at));
        d.insert("retryAfterSeconds".into(), json!(wait));
        d.insert(
            "quota".into(),
            json!({"limit": 2, "used": 2, "remaining": 0}),
        );
        d
    }

    #[test]
    fn the_cap_refusal_says_when_in_each_language() {
        let d = refusal("2026-11-21T09:31:00-03:00", 3120);
        assert_eq!(
            localize(CAP, CAP_EN, &d, Lang::PtBr),
            "Este cliente já recebeu 2 mensagens ativas suas nas últimas 24 horas (limite 2). Você poderá enviar outra às 09:31 (em 52 min)."
        );
        assert!(localize(CAP, CAP_EN, &d, Lang::EsEs).contains("a las 09:31 (en 52 min)"));
        assert_eq!(localize(CAP, CAP_EN, &d, Lang::EnUs), CAP_EN);
        // Tomorrow: the date is said too.
        let d = refusal("2026-11-22T08:00:00-03:00", 12 * 3600);
        assert!(localize(CAP, CAP_EN, &d, Lang::PtBr).contains("às 22/11 08:00 (em 12 h 00 min)"));
    }

    #[test]
    fn variable_problems_are_said_in_each_language() {
        let mut d = Map::new();
        d.insert(
            "details".into(),
            json!([{"variable": "2", "problem": "empty", "message": "variable 2 is empty"},
                   {"variable": "header", "problem": "not_https", "message": "x"}]),
        );
        let mut pt = d.clone();
        localize_details(&mut pt, Lang::PtBr);
        assert_eq!(pt["details"][0]["message"], "A variável 2 está vazia.");
        assert!(pt["details"][1]["message"]
            .as_str()
            .unwrap()
            .contains("https://"));
        let mut en = d.clone();
        localize_details(&mut en, Lang::EnUs);
        assert_eq!(en, d);
    }

    #[test]
    fn metas_refusals_are_explained_in_each_language() {
        let e = crate::graph::api_error(
            crate::graph::GraphError::Rejected {
                http_status: 400,
                code: 131047,
                title: "Re-engagement message".into(),
                details: None,
            },
            crate::error_code::ErrorCode::WhatsappOutcomeUnknown,
            "timeout",
            "unreachable",
        );
        let crate::http::ApiError::BadGateway { details: d, .. } = &e else {
            panic!("{e:?}");
        };
        // A phrase only each language's sentence has.
        for (lang, phrase) in [
            (Lang::EnUs, "More than 24 hours have passed"),
            (Lang::PtBr, "Já se passaram mais de 24 horas"),
            (Lang::EsEs, "Pasaron más de 24 horas"),
        ] {
            let sentence = localize(e.error_code(), &e.to_string(), d, lang);
            assert!(sentence.contains(phrase), "{lang:?}: {sentence}");
        }
    }
}
