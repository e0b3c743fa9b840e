//! Messages for people in the tenant's language: `pt_BR`, `en_US`
//! or `es_ES`, the request's `Accept-Language` winning when it names one of
//! them. Handlers write their errors in English, with the details a person
//! needs; [`localize`] gives the sentence of the answer's language from the
//! error's `code` (which never changes) and its details. English keeps the
//! handler's own sentence.

mod catalog;
mod lang;

pub use lang::Lang;

use afterhours_rules::cap::Refusal;
use serde_json::{Map, Value};

use crate::error_code::ErrorCode;

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
        ErrorCode::WhatsappRejected => {
            let code = details
                .get("whatsappCode")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            meta_sentence(code, lang).to_string()
        }
        _ => catalog::sentence(code, english, lang),
    }
}

/// Meta's error code explained for an agent, in `lang`.
pub fn meta_sentence(code: i64, lang: Lang) -> &'static str {
    catalog::meta_explanation(code, lang)
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

/// The cap's refusal in `lang`: how many were sent, the local time one more
/// becomes possible (with the day when that is not today) and how long until then.
pub fn cap_refusal(r: &Refusal, lang: Lang) -> String {
    let (Some(when), Lang::PtBr | Lang::EsEs) = (r.when(true), lang) else {
        return r.message();
    };
    let (used, limit, left) = (r.quota.used, r.quota.limit, r.wait());
    match lang {
        Lang::EsEs => format!(
            "Este cliente ya recibió {used} mensajes activos suyos en las últimas 24 horas (límite {limit}). Podrá enviar otro a las {when} (en {left})."
        ),
        _ => format!(
            "Este cliente já recebeu {used} mensagens ativas suas nas últimas 24 horas (limite {limit}). Você poderá enviar outra às {when} (em {left})."
        ),
    }
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

    fn refusal(available_at: &str, wait: i64) -> Refusal {
        let at = chrono::DateTime::parse_from_rfc3339(available_at)
            .unwrap()
            .with_timezone(&chrono::Utc);
        Refusal {
            quota: afterhours_rules::cap::Quota {
                limit: 2,
                used: 2,
                available_at: Some(at),
                retry_after_seconds: wait,
            },
            now: at - chrono::Duration::seconds(wait),
            tz: chrono_tz::America::Sao_Paulo,
        }
    }

    #[test]
    fn the_cap_refusal_says_when_in_each_language() {
        let r = refusal("2026-11-21T09:31:00-03:00", 3120);
        assert_eq!(
            cap_refusal(&r, Lang::PtBr),
            "Este cliente já recebeu 2 mensagens ativas suas nas últimas 24 horas (limite 2). Você poderá enviar outra às 09:31 (em 52 min)."
        );
        assert!(cap_refusal(&r, Lang::EsEs).contains("a las 09:31 (en 52 min)"));
        assert_eq!(
            cap_refusal(&r, Lang::EnUs),
            "This customer already got 2 active messages from you in the last 24 hours (limit 2). You can send another active message to this customer at 09:31 (in 52 min)."
        );
        // Tomorrow: the date is said too, in each language's order.
        let r = refusal("2026-11-22T08:00:00-03:00", 12 * 3600);
        assert!(cap_refusal(&r, Lang::PtBr).contains("às 22/11 08:00 (em 12 h 00 min)"));
        assert!(cap_refusal(&r, Lang::EnUs).contains("at 11/22 08:00 (in 12 h 00 min)"));
    }

    #[test]
    fn the_cap_refusal_renders_itself_as_a_429() {
        let r = refusal("2026-11-21T09:31:00-03:00", 3120);
        let res = crate::http::ApiError::CapReached(Box::new(r)).to_response_in(Lang::EsEs);
        assert_eq!(res.status.as_u16(), 429);
        assert_eq!(res.header("retry-after"), Some("3120"));
        let body = res.json_body();
        assert_eq!(body["error"]["code"], "active_message_limit_reached");
        assert_eq!(body["error"]["availableAt"], "2026-11-21T09:31:00-03:00");
        assert_eq!(body["error"]["retryAfterSeconds"], 3120);
        assert_eq!(body["error"]["quota"]["remaining"], 0);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Este cliente ya recibió 2"));
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
        let e = crate::http::ApiError::from_graph(
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
