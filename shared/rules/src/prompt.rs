//! The "notify the next service hours" reply: its texts per language, a
//! tenant's overrides, and the interactive message Meta accepts.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::FieldError;

/// Languages that ship with texts.
pub const LANGUAGES: [&str; 3] = ["pt_BR", "en_US", "es_ES"];

/// Reply-button ids; the customer's tap comes back with one of them.
pub const YES_ID: &str = "afterhours.callback.yes";
pub const NO_ID: &str = "afterhours.callback.no";

/// Meta's limits for an interactive reply-button message.
pub const MAX_BODY: usize = 1024;
pub const MAX_BUTTON_TITLE: usize = 20;
/// The longest text `{nextOpening}` can expand to, kept free in the body.
const OPENING_ROOM: usize = 64;

/// The texts of the prompt. `{nextOpening}` in the body is replaced by the
/// next opening in the tenant's zone and language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptTexts {
    pub body: String,
    pub yes_button: String,
    pub no_button: String,
    /// Used when the schedule never opens in the coming year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_no_opening: Option<String>,
}

impl PromptTexts {
    /// The shipped texts of a language (unknown languages get `en_US`).
    pub fn defaults(language: &str) -> Self {
        let (body, yes, no, none) = match language {
            "pt_BR" => (
                "Olá! Recebemos sua mensagem, mas nosso atendimento está fechado agora. Voltamos {nextOpening}. Quer que a gente entre em contato quando abrirmos?",
                "Sim, quero contato",
                "Não, obrigado",
                "Olá! Recebemos sua mensagem, mas nosso atendimento está fechado agora. Quer que a gente entre em contato quando abrirmos?",
            ),
            "es_ES" => (
                "¡Hola! Recibimos tu mensaje, pero nuestro equipo está cerrado ahora. Volvemos {nextOpening}. ¿Quieres que te contactemos cuando abramos?",
                "Sí, contáctenme",
                "No, gracias",
                "¡Hola! Recibimos tu mensaje, pero nuestro equipo está cerrado ahora. ¿Quieres que te contactemos cuando abramos?",
            ),
            _ => (
                "Hi! We got your message, but our team is closed right now. We are back {nextOpening}. Would you like us to contact you when we open?",
                "Yes, contact me",
                "No, thanks",
                "Hi! We got your message, but our team is closed right now. Would you like us to contact you when we open?",
            ),
        };
        PromptTexts {
            body: body.into(),
            yes_button: yes.into(),
            no_button: no.into(),
            body_no_opening: Some(none.into()),
        }
    }

    /// Checks an override against Meta's limits, naming `promptTexts.*`.
    pub fn validate(&self, errors: &mut Vec<FieldError>) {
        let body_len = self.body.replace("{nextOpening}", "").chars().count();
        if self.body.trim().is_empty() || body_len + OPENING_ROOM > MAX_BODY {
            errors.push(FieldError::new(
                "promptTexts.body",
                format!(
                    "must be 1 to {} characters (besides {{nextOpening}})",
                    MAX_BODY - OPENING_ROOM
                ),
            ));
        }
        if let Some(b) = &self.body_no_opening {
            if b.trim().is_empty() || b.chars().count() > MAX_BODY {
                errors.push(FieldError::new(
                    "promptTexts.bodyNoOpening",
                    format!("must be 1 to {MAX_BODY} characters"),
                ));
            }
        }
        for (field, title) in [
            ("promptTexts.yesButton", &self.yes_button),
            ("promptTexts.noButton", &self.no_button),
        ] {
            if title.trim().is_empty() || title.chars().count() > MAX_BUTTON_TITLE {
                errors.push(FieldError::new(
                    field,
                    format!("must be 1 to {MAX_BUTTON_TITLE} characters"),
                ));
            }
        }
        if self.yes_button.trim() == self.no_button.trim() {
            errors.push(FieldError::new(
                "promptTexts.noButton",
                "must differ from yesButton",
            ));
        }
    }
}

/// "segunda-feira, 23/11 às 08:00" and its siblings, in the tenant's zone.
pub fn format_opening(t: DateTime<Utc>, tz: Tz, language: &str) -> String {
    let local = t.with_timezone(&tz);
    let wd = local.weekday().num_days_from_monday() as usize;
    let hm = local.format("%H:%M");
    match language {
        "pt_BR" => {
            const D: [&str; 7] = [
                "segunda-feira",
                "terça-feira",
                "quarta-feira",
                "quinta-feira",
                "sexta-feira",
                "sábado",
                "domingo",
            ];
            format!("{}, {} às {hm}", D[wd], local.format("%d/%m"))
        }
        "es_ES" => {
            const D: [&str; 7] = [
                "lunes",
                "martes",
                "miércoles",
                "jueves",
                "viernes",
                "sábado",
                "domingo",
            ];
            format!("el {} {} a las {hm}", D[wd], local.format("%d/%m"))
        }
        _ => {
            const D: [&str; 7] = [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ];
            format!("on {}, {} at {hm}", D[wd], local.format("%b %-d"))
        }
    }
}

/// The body text of the prompt for a given next opening.
pub fn prompt_body(
    texts: &PromptTexts,
    next: Option<DateTime<Utc>>,
    tz: Tz,
    language: &str,
) -> String {
    let body = match (next, &texts.body_no_opening) {
        (Some(t), _) => texts
            .body
            .replace("{nextOpening}", &format_opening(t, tz, language)),
        (None, Some(b)) => b.clone(),
        (None, None) => texts.body.replace("{nextOpening}", "").replace("  ", " "),
    };
    body.chars().take(MAX_BODY).collect()
}

/// The Graph API request body of the prompt: an interactive message with two reply buttons.
pub fn prompt_message(to: &str, body: &str, texts: &PromptTexts) -> Value {
    let title = |t: &str| t.chars().take(MAX_BUTTON_TITLE).collect::<String>();
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": { "text": body },
            "action": { "buttons": [
                { "type": "reply", "reply": { "id": YES_ID, "title": title(&texts.yes_button) } },
                { "type": "reply", "reply": { "id": NO_ID, "title": title(&texts.no_button) } }
            ] }
        }
    })
}

/// The answer a tapped button id stands for.
pub fn answer_of(button_id: &str) -> Option<bool> {
    match button_id {
        YES_ID => Some(true),
        NO_ID => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn each_language_has_its_own_texts() {
        assert!(PromptTexts::defaults("pt_BR").body.starts_with("Olá!"));
        assert!(PromptTexts::defaults("es_ES").body.starts_with("¡Hola!"));
        assert!(PromptTexts::defaults("en_US").body.starts_with("Hi!"));
        assert_eq!(
            PromptTexts::defaults("fr_FR"),
            PromptTexts::defaults("en_US")
        );
    }

    #[test]
    fn texts_are_refused_exactly_past_metas_limits() {
        let fields = |t: &PromptTexts| {
            let mut errors = Vec::new();
            t.validate(&mut errors);
            errors.into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        let room = MAX_BODY - OPENING_ROOM;
        let mut t = PromptTexts::defaults("en_US");
        t.body = format!("{}{{nextOpening}}", "a".repeat(room));
        t.body_no_opening = Some("b".repeat(MAX_BODY));
        t.yes_button = "y".repeat(MAX_BUTTON_TITLE);
        t.no_button = "n".repeat(MAX_BUTTON_TITLE);
        assert!(fields(&t).is_empty(), "{:?}", fields(&t));
        t.body = format!("{}{{nextOpening}}", "a".repeat(room + 1));
        t.body_no_opening = Some("b".repeat(MAX_BODY + 1));
        t.yes_button = "y".repeat(MAX_BUTTON_TITLE + 1);
        assert_eq!(
            fields(&t),
            [
                "promptTexts.body",
                "promptTexts.bodyNoOpening",
                "promptTexts.yesButton"
            ]
        );
        t.body_no_opening = Some("  ".into());
        t.yes_button = "Yes".into();
        assert_eq!(
            fields(&t),
            ["promptTexts.body", "promptTexts.bodyNoOpening"]
        );
    }

    #[test]
    fn shipped_texts_meet_metas_limits_in_every_language() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 11, 0, 0).unwrap();
        for lang in LANGUAGES {
            let texts = PromptTexts::defaults(lang);
            let mut errors = Vec::new();
            texts.validate(&mut errors);
            assert!(errors.is_empty(), "{lang}: {errors:?}");
            let body = prompt_body(&texts, Some(t), chrono_tz::America::Sao_Paulo, lang);
            assert!(body.chars().count() <= MAX_BODY);
            assert!(!body.contains("{nextOpening}"));
            let m = prompt_message("5511999990000", &body, &texts);
            let buttons = m["interactive"]["action"]["buttons"].as_array().unwrap();
            assert_eq!(buttons.len(), 2);
            assert_ne!(buttons[0]["reply"]["id"], buttons[1]["reply"]["id"]);
        }
    }

    #[test]
    fn opening_is_shown_in_the_tenants_zone_and_language() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 11, 0, 0).unwrap();
        let sp = chrono_tz::America::Sao_Paulo;
        assert_eq!(
            format_opening(t, sp, "pt_BR"),
            "segunda-feira, 23/11 às 08:00"
        );
        assert_eq!(format_opening(t, sp, "en_US"), "on Monday, Nov 23 at 08:00");
        assert_eq!(
            format_opening(t, chrono_tz::Europe::Madrid, "es_ES"),
            "el lunes 23/11 a las 12:00"
        );
    }

    #[test]
    fn overrides_are_held_to_metas_limits() {
        let texts = PromptTexts {
            body: "x".repeat(1000),
            yes_button: "a button title that is far too long".into(),
            no_button: "".into(),
            body_no_opening: None,
        };
        let mut errors = Vec::new();
        texts.validate(&mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "promptTexts.body",
                "promptTexts.yesButton",
                "promptTexts.noButton"
            ]
        );
    }

    #[test]
    fn a_schedule_that_never_opens_gets_the_no_opening_text() {
        let texts = PromptTexts::defaults("en_US");
        let body = prompt_body(&texts, None, chrono_tz::UTC, "en_US");
        assert_eq!(body, texts.body_no_opening.unwrap());
    }

    #[test]
    fn button_ids_map_to_answers() {
        assert_eq!(answer_of(YES_ID), Some(true));
        assert_eq!(answer_of(NO_ID), Some(false));
        assert_eq!(answer_of("something else"), None);
    }
}
