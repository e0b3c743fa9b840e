//! The sentences of every error code in Portuguese and Spanish. English is
//! the handlers' own (more specific) sentence.

use super::lang::Lang;
use crate::error_code::ErrorCode;

/// The error's sentence in Portuguese and Spanish (English is the
/// handler's own, more specific, sentence).
#[rustfmt::skip]
pub(super) fn translations(code: ErrorCode) -> (&'static str, &'static str) {
    match code {
        ErrorCode::Unauthorized => ("Entre novamente: o acesso está ausente, vencido ou não é válido.", "Inicie sesión de nuevo: el acceso falta, caducó o no es válido."),
        ErrorCode::Forbidden => ("Você não tem permissão para fazer isso.", "No tiene permiso para hacer esto."),
        ErrorCode::NotFound => ("Não encontrado (um contato some 7 dias depois da primeira mensagem).", "No encontrado (un contacto desaparece 7 días después del primer mensaje)."),
        ErrorCode::PayloadTooLarge => ("O conteúdo enviado é grande demais.", "El contenido enviado es demasiado grande."),
        ErrorCode::PreconditionFailed => ("Outra pessoa alterou isto depois que você abriu; recarregue e tente de novo.", "Otra persona cambió esto después de que lo abrió; recargue e inténtelo de nuevo."),
        ErrorCode::ServiceUnavailable => ("O serviço está indisponível no momento; tente de novo em instantes.", "El servicio no está disponible en este momento; inténtelo de nuevo en unos instantes."),
        ErrorCode::InvalidQuery => ("Um dos filtros ou parâmetros da consulta não é válido.", "Uno de los filtros o parámetros de la consulta no es válido."),
        ErrorCode::InvalidCursor => ("Esta página não é mais válida; volte à primeira página.", "Esta página ya no es válida; vuelva a la primera página."),
        ErrorCode::InvalidId => ("O identificador informado não é válido.", "El identificador indicado no es válido."),
        ErrorCode::InvalidJson => ("O conteúdo enviado não é um JSON válido.", "El contenido enviado no es un JSON válido."),
        ErrorCode::InvalidRequest => ("O pedido está incompleto ou mal formado: confira o modelo, as variáveis, o canal e o número.", "La solicitud está incompleta o mal formada: revise la plantilla, las variables, el canal y el número."),
        ErrorCode::InvalidIdempotencyKey => ("A chave Idempotency-Key é longa demais (até 255 caracteres).", "La clave Idempotency-Key es demasiado larga (hasta 255 caracteres)."),
        ErrorCode::IdempotencyInProgress => ("Um envio com esta chave ainda está em andamento; tente de novo em instantes.", "Un envío con esta clave todavía está en curso; inténtelo de nuevo en unos instantes."),
        ErrorCode::IdempotencyKeyReused => ("Esta chave Idempotency-Key já foi usada em outro pedido.", "Esta clave Idempotency-Key ya se usó en otra solicitud."),
        ErrorCode::TemplateNotApproved => ("Este modelo não está entre os modelos aprovados deste canal; escolha outro.", "Esta plantilla no está entre las plantillas aprobadas de este canal; elija otra."),
        ErrorCode::TemplateVariablesInvalid => ("Algumas variáveis do modelo não são válidas; confira cada campo indicado.", "Algunas variables de la plantilla no son válidas; revise cada campo indicado."),
        ErrorCode::ActiveMessageLimitReached => ("Você atingiu o limite de mensagens ativas para este cliente nas últimas 24 horas.", "Alcanzó el límite de mensajes activos para este cliente en las últimas 24 horas."),
        ErrorCode::WhatsappUnreachable => ("Não foi possível falar com o WhatsApp; nada foi enviado. Tente de novo em instantes.", "No se pudo contactar con WhatsApp; no se envió nada. Inténtelo de nuevo en unos instantes."),
        ErrorCode::WhatsappOutcomeUnknown => ("A resposta do WhatsApp se perdeu: a mensagem pode ter saído. Ela continua contando no limite; o contato mostra o resultado quando o WhatsApp informar.", "La respuesta de WhatsApp se perdió: el mensaje puede haber salido. Sigue contando en el límite; el contacto muestra el resultado cuando WhatsApp lo informe."),
        ErrorCode::WhatsappTimeout => ("O WhatsApp não respondeu a tempo; nada foi alterado.", "WhatsApp no respondió a tiempo; no se cambió nada."),
        ErrorCode::InvalidSettings => ("Algumas configurações não são válidas; confira cada campo indicado.", "Algunos ajustes no son válidos; revise cada campo indicado."),
        ErrorCode::InvalidChannel => ("O canal não é válido; confira cada campo indicado.", "El canal no es válido; revise cada campo indicado."),
        ErrorCode::InvalidTemplates => ("A lista de modelos não está no formato message_templates da Meta.", "La lista de plantillas no tiene el formato message_templates de Meta."),
        ErrorCode::WabaRequired => ("Este cliente tem várias contas do WhatsApp Business; indique qual com ?wabaId=.", "Este cliente tiene varias cuentas de WhatsApp Business; indique cuál con ?wabaId=."),
        ErrorCode::ChannelTaken => ("Este número já está vinculado a outra empresa.", "Este número ya está vinculado a otra empresa."),
        ErrorCode::BusinessAccountTaken => ("Esta conta do WhatsApp Business pertence a outra empresa.", "Esta cuenta de WhatsApp Business pertenece a otra empresa."),
        ErrorCode::BusinessAccountNotGranted => ("Esta conta do WhatsApp Business não foi liberada para a sua empresa; peça ao operador da plataforma que a libere.", "Esta cuenta de WhatsApp Business no está habilitada para su empresa; pida al operador de la plataforma que la habilite."),
        ErrorCode::ChannelNotBound => ("Este número não está vinculado à sua empresa.", "Este número no está vinculado a su empresa."),
        ErrorCode::ChannelNotInBusinessAccount => ("A conta do WhatsApp Business não lista este número; confira os dois identificadores no WhatsApp Manager.", "La cuenta de WhatsApp Business no incluye este número; revise ambos identificadores en WhatsApp Manager."),
        ErrorCode::WhatsappRejected => ("O WhatsApp recusou a mensagem.", "WhatsApp rechazó el mensaje."),
    }
}

/// An error's sentence in `lang`: `english` (the handler's own) in English.
pub(super) fn sentence(code: ErrorCode, english: &str, lang: Lang) -> String {
    let (pt, es) = translations(code);
    match lang {
        Lang::PtBr => pt.to_string(),
        Lang::EsEs => es.to_string(),
        Lang::EnUs => english.to_string(),
    }
}

/// Meta's refusal codes explained for an agent: (code, en_US, pt_BR, es_ES).
const META: &[(i64, &str, &str, &str)] = &[
    (
        131047,
        "More than 24 hours have passed since the customer last wrote, so only a template can reopen the conversation.",
        "Já se passaram mais de 24 horas desde a última mensagem do cliente; só um modelo reabre a conversa.",
        "Pasaron más de 24 horas desde el último mensaje del cliente; solo una plantilla reabre la conversación.",
    ),
    (
        131026,
        "The message could not be delivered: the number may not be on WhatsApp, or the customer has not accepted the latest terms or uses an old app.",
        "A mensagem não pôde ser entregue: o número pode não ter WhatsApp, ou o cliente não aceitou os termos mais recentes ou usa um app antigo.",
        "El mensaje no se pudo entregar: el número puede no tener WhatsApp, o el cliente no aceptó los términos más recientes o usa una app antigua.",
    ),
    (
        131049,
        "Meta held this message back to protect the customer's experience (too many marketing messages). Try again later or with another template.",
        "A Meta segurou esta mensagem para proteger a experiência do cliente (marketing demais). Tente mais tarde ou com outro modelo.",
        "Meta retuvo este mensaje para proteger la experiencia del cliente (demasiado marketing). Inténtelo más tarde o con otra plantilla.",
    ),
    (
        131056,
        "Too many messages went to this customer from this number in a short time. Wait a little before trying again.",
        "Mensagens demais foram para este cliente a partir deste número em pouco tempo. Aguarde um pouco.",
        "Se enviaron demasiados mensajes a este cliente desde este número en poco tiempo. Espere un poco.",
    ),
    (
        132000,
        "The number of variables does not match what the template expects.",
        "O número de variáveis não corresponde ao que o modelo espera.",
        "La cantidad de variables no coincide con lo que espera la plantilla.",
    ),
    (
        132001,
        "The template does not exist in this language, or it is not approved yet.",
        "O modelo não existe neste idioma ou ainda não foi aprovado.",
        "La plantilla no existe en este idioma o aún no está aprobada.",
    ),
    (
        132015,
        "The template is paused because of low quality; edit or replace it in WhatsApp Manager.",
        "O modelo está pausado por baixa qualidade; edite ou substitua no WhatsApp Manager.",
        "La plantilla está en pausa por baja calidad; edítela o reemplácela en WhatsApp Manager.",
    ),
    (
        132016,
        "The template was disabled because of low quality.",
        "O modelo foi desativado por baixa qualidade.",
        "La plantilla fue desactivada por baja calidad.",
    ),
    (
        130429,
        "The WhatsApp number reached its rate limit. Try again in a moment.",
        "O número do WhatsApp atingiu seu limite de envio. Tente de novo em instantes.",
        "El número de WhatsApp alcanzó su límite de envío. Inténtelo de nuevo en unos instantes.",
    ),
    (
        131048,
        "The number reached its spam rate limit; fewer messages can go out for now.",
        "O número atingiu o limite por spam; menos mensagens podem sair por enquanto.",
        "El número alcanzó el límite por spam; por ahora pueden salir menos mensajes.",
    ),
    (
        131031,
        "The WhatsApp Business account is locked.",
        "A conta do WhatsApp Business está bloqueada.",
        "La cuenta de WhatsApp Business está bloqueada.",
    ),
    (
        131050,
        "The customer chose to stop receiving marketing messages from this business.",
        "O cliente optou por não receber mensagens de marketing desta empresa.",
        "El cliente eligió no recibir mensajes de marketing de esta empresa.",
    ),
    (
        131000,
        "Something went wrong at WhatsApp; try again.",
        "Algo deu errado no WhatsApp; tente de novo.",
        "Algo salió mal en WhatsApp; inténtelo de nuevo.",
    ),
    (
        190,
        "The WhatsApp access token is invalid or expired; an admin must renew it.",
        "O token de acesso do WhatsApp é inválido ou venceu; um administrador precisa renová-lo.",
        "El token de acceso de WhatsApp no es válido o caducó; un administrador debe renovarlo.",
    ),
    (
        100,
        "WhatsApp refused the request as invalid.",
        "O WhatsApp recusou o pedido como inválido.",
        "WhatsApp rechazó la solicitud por no ser válida.",
    ),
];

/// Meta's refusal code explained in `lang`.
pub(super) fn meta_explanation(code: i64, lang: Lang) -> &'static str {
    let (en, pt, es) = META
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, en, pt, es)| (*en, *pt, *es))
        .unwrap_or((
            "WhatsApp refused the message.",
            "O WhatsApp recusou a mensagem.",
            "WhatsApp rechazó el mensaje.",
        ));
    match lang {
        Lang::EnUs => en,
        Lang::PtBr => pt,
        Lang::EsEs => es,
    }
}

/// A refused template variable (`problem` as the rules name it) in `lang`.
pub(super) fn variable_problem(problem: &str, var: &str, lang: Lang) -> Option<String> {
    let (pt, es) = match problem {
        "missing" => (
            "A variável {v} é obrigatória.",
            "La variable {v} es obligatoria.",
        ),
        "empty" => ("A variável {v} está vazia.", "La variable {v} está vacía."),
        "not_text" => (
            "A variável {v} deve ser um texto.",
            "La variable {v} debe ser un texto.",
        ),
        "newline" => (
            "A variável {v} não pode ter quebra de linha.",
            "La variable {v} no puede tener saltos de línea.",
        ),
        "tab" => (
            "A variável {v} não pode ter tabulação.",
            "La variable {v} no puede tener tabulaciones.",
        ),
        "spaces" => (
            "A variável {v} não pode ter mais de 4 espaços seguidos.",
            "La variable {v} no puede tener más de 4 espacios seguidos.",
        ),
        "too_long" => (
            "A variável {v} passa do tamanho que a Meta aceita.",
            "La variable {v} supera la longitud que Meta acepta.",
        ),
        "unknown" => (
            "O modelo não tem a variável {v}.",
            "La plantilla no tiene la variable {v}.",
        ),
        "wrong_type" => (
            "O tipo de mídia do cabeçalho não é o que o modelo pede.",
            "El tipo de medio del encabezado no es el que pide la plantilla.",
        ),
        "not_https" => (
            "O cabeçalho precisa de um link https:// para a mídia.",
            "El encabezado necesita un enlace https:// al medio.",
        ),
        "filename" => (
            "O nome do arquivo só vale para documentos (até 240 caracteres).",
            "El nombre de archivo solo vale para documentos (hasta 240 caracteres).",
        ),
        _ => return None,
    };
    let text = match lang {
        Lang::PtBr => pt,
        Lang::EsEs => es,
        Lang::EnUs => return None,
    };
    Some(text.replace("{v}", var))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_meta_code_has_its_own_explanation_in_each_language() {
        let codes = [
            131047, 131026, 131049, 131056, 132000, 132001, 132015, 130429, 190,
        ];
        for lang in [Lang::EnUs, Lang::PtBr, Lang::EsEs] {
            let texts: std::collections::HashSet<&str> =
                codes.iter().map(|c| meta_explanation(*c, lang)).collect();
            assert_eq!(texts.len(), codes.len(), "{lang:?}");
            assert!(!texts.contains(meta_explanation(1, lang)), "{lang:?}");
        }
        assert_ne!(
            meta_explanation(190, Lang::EnUs),
            meta_explanation(190, Lang::PtBr)
        );
    }

    #[test]
    fn every_code_has_its_own_sentence_in_each_language() {
        // The match above is exhaustive (the compiler checks every code has
        // an arm); this checks the arms are real and not copied.
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            let (pt, es) = translations(code);
            assert!(pt.len() > 10 && es.len() > 10, "{code}");
            assert_ne!(pt, es, "{code}");
            assert!(
                seen.insert(pt),
                "{code}: pt_BR sentence shared with another code"
            );
            assert!(
                seen.insert(es),
                "{code}: es_ES sentence shared with another code"
            );
            assert_eq!(sentence(code, "in English", Lang::EnUs), "in English");
            assert_eq!(sentence(code, "in English", Lang::PtBr), pt);
        }
        let codes: std::collections::BTreeSet<_> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(codes.len(), ErrorCode::ALL.len(), "two codes share a name");
    }
}
