//! The sentences of every error code in Portuguese and Spanish. English is
//! the handlers' own (more specific) sentence. A test keeps every code the
//! functions answer with in this table.

use super::Lang;

/// (code, pt_BR, es_ES).
pub const SENTENCES: &[(&str, &str, &str)] = &[
    ("unauthorized",
     "Entre novamente: o acesso está ausente, vencido ou não é válido.",
     "Inicie sesión de nuevo: el acceso falta, caducó o no es válido."),
    ("forbidden",
     "Você não tem permissão para fazer isso.",
     "No tiene permiso para hacer esto."),
    ("not_found",
     "Não encontrado (um contato some 7 dias depois da primeira mensagem).",
     "No encontrado (un contacto desaparece 7 días después del primer mensaje)."),
    ("payload_too_large",
     "O conteúdo enviado é grande demais.",
     "El contenido enviado es demasiado grande."),
    ("precondition_failed",
     "Outra pessoa alterou isto depois que você abriu; recarregue e tente de novo.",
     "Otra persona cambió esto después de que lo abrió; recargue e inténtelo de nuevo."),
    ("service_unavailable",
     "O serviço está indisponível no momento; tente de novo em instantes.",
     "El servicio no está disponible en este momento; inténtelo de nuevo en unos instantes."),
    ("invalid_query",
     "Um dos filtros ou parâmetros da consulta não é válido.",
     "Uno de los filtros o parámetros de la consulta no es válido."),
    ("invalid_cursor",
     "Esta página não é mais válida; volte à primeira página.",
     "Esta página ya no es válida; vuelva a la primera página."),
    ("invalid_id",
     "O identificador informado não é válido.",
     "El identificador indicado no es válido."),
    ("invalid_json",
     "O conteúdo enviado não é um JSON válido.",
     "El contenido enviado no es un JSON válido."),
    ("invalid_request",
     "O pedido está incompleto ou mal formado: confira o modelo, as variáveis, o canal e o número.",
     "La solicitud está incompleta o mal formada: revise la plantilla, las variables, el canal y el número."),
    ("invalid_idempotency_key",
     "A chave Idempotency-Key é longa demais (até 255 caracteres).",
     "La clave Idempotency-Key es demasiado larga (hasta 255 caracteres)."),
    ("idempotency_in_progress",
     "Um envio com esta chave ainda está em andamento; tente de novo em instantes.",
     "Un envío con esta clave todavía está en curso; inténtelo de nuevo en unos instantes."),
    ("idempotency_key_reused",
     "Esta chave Idempotency-Key já foi usada em outro pedido.",
     "Esta clave Idempotency-Key ya se usó en otra solicitud."),
    ("template_not_approved",
     "Este modelo não está entre os modelos aprovados deste canal; escolha outro.",
     "Esta plantilla no está entre las plantillas aprobadas de este canal; elija otra."),
    ("template_variables_invalid",
     "Algumas variáveis do modelo não são válidas; confira cada campo indicado.",
     "Algunas variables de la plantilla no son válidas; revise cada campo indicado."),
    ("active_message_limit_reached",
     "Você atingiu o limite de mensagens ativas para este cliente nas últimas 24 horas.",
     "Alcanzó el límite de mensajes activos para este cliente en las últimas 24 horas."),
    ("whatsapp_unreachable",
     "Não foi possível falar com o WhatsApp; nada foi enviado. Tente de novo em instantes.",
     "No se pudo contactar con WhatsApp; no se envió nada. Inténtelo de nuevo en unos instantes."),
    ("whatsapp_outcome_unknown",
     "A resposta do WhatsApp se perdeu: a mensagem pode ter saído. Ela continua contando no limite; o contato mostra o resultado quando o WhatsApp informar.",
     "La respuesta de WhatsApp se perdió: el mensaje puede haber salido. Sigue contando en el límite; el contacto muestra el resultado cuando WhatsApp lo informe."),
    ("whatsapp_timeout",
     "O WhatsApp não respondeu a tempo; nada foi alterado.",
     "WhatsApp no respondió a tiempo; no se cambió nada."),
    ("invalid_settings",
     "Algumas configurações não são válidas; confira cada campo indicado.",
     "Algunos ajustes no son válidos; revise cada campo indicado."),
    ("invalid_channel",
     "O canal não é válido; confira cada campo indicado.",
     "El canal no es válido; revise cada campo indicado."),
    ("invalid_templates",
     "A lista de modelos não está no formato message_templates da Meta.",
     "La lista de plantillas no tiene el formato message_templates de Meta."),
    ("waba_required",
     "Este cliente tem várias contas do WhatsApp Business; indique qual com ?wabaId=.",
     "Este cliente tiene varias cuentas de WhatsApp Business; indique cuál con ?wabaId=."),
    ("channel_taken",
     "Este número já está vinculado a outra empresa.",
     "Este número ya está vinculado a otra empresa."),
    ("business_account_taken",
     "Esta conta do WhatsApp Business pertence a outra empresa.",
     "Esta cuenta de WhatsApp Business pertenece a otra empresa."),
    ("business_account_not_granted",
     "Esta conta do WhatsApp Business não foi liberada para a sua empresa; peça ao operador da plataforma que a libere.",
     "Esta cuenta de WhatsApp Business no está habilitada para su empresa; pida al operador de la plataforma que la habilite."),
    ("channel_not_bound",
     "Este número não está vinculado à sua empresa.",
     "Este número no está vinculado a su empresa."),
    ("channel_not_in_business_account",
     "A conta do WhatsApp Business não lista este número; confira os dois identificadores no WhatsApp Manager.",
     "La cuenta de WhatsApp Business no incluye este número; revise ambos identificadores en WhatsApp Manager."),
];

/// The catalog's sentence for an error code; `english` (the handler's own)
/// for a code the catalog lacks (a test keeps that from happening).
pub(super) fn sentence(code: &str, english: &str, lang: Lang) -> String {
    SENTENCES
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, pt, es)| match lang {
            Lang::PtBr => (*pt).to_string(),
            Lang::EsEs => (*es).to_string(),
            Lang::EnUs => english.to_string(),
        })
        .unwrap_or_else(|| english.to_string())
}

/// Meta's refusal codes explained, as `graph::explain` does in English: (code, pt_BR, es_ES).
const META: &[(i64, &str, &str)] = &[
    (
        131047,
        "Já se passaram mais de 24 horas desde a última mensagem do cliente; só um modelo reabre a conversa.",
        "Pasaron más de 24 horas desde el último mensaje del cliente; solo una plantilla reabre la conversación.",
    ),
    (
        131026,
        "A mensagem não pôde ser entregue: o número pode não ter WhatsApp, ou o cliente não aceitou os termos mais recentes ou usa um app antigo.",
        "El mensaje no se pudo entregar: el número puede no tener WhatsApp, o el cliente no aceptó los términos más recientes o usa una app antigua.",
    ),
    (
        131049,
        "A Meta segurou esta mensagem para proteger a experiência do cliente (marketing demais). Tente mais tarde ou com outro modelo.",
        "Meta retuvo este mensaje para proteger la experiencia del cliente (demasiado marketing). Inténtelo más tarde o con otra plantilla.",
    ),
    (
        131056,
        "Mensagens demais foram para este cliente a partir deste número em pouco tempo. Aguarde um pouco.",
        "Se enviaron demasiados mensajes a este cliente desde este número en poco tiempo. Espere un poco.",
    ),
    (
        132000,
        "O número de variáveis não corresponde ao que o modelo espera.",
        "La cantidad de variables no coincide con lo que espera la plantilla.",
    ),
    (
        132001,
        "O modelo não existe neste idioma ou ainda não foi aprovado.",
        "La plantilla no existe en este idioma o aún no está aprobada.",
    ),
    (
        132015,
        "O modelo está pausado por baixa qualidade; edite ou substitua no WhatsApp Manager.",
        "La plantilla está en pausa por baja calidad; edítela o reemplácela en WhatsApp Manager.",
    ),
    (
        132016,
        "O modelo foi desativado por baixa qualidade.",
        "La plantilla fue desactivada por baja calidad.",
    ),
    (
        130429,
        "O número do WhatsApp atingiu seu limite de envio. Tente de novo em instantes.",
        "El número de WhatsApp alcanzó su límite de envío. Inténtelo de nuevo en unos instantes.",
    ),
    (
        131048,
        "O número atingiu o limite por spam; menos mensagens podem sair por enquanto.",
        "El número alcanzó el límite por spam; por ahora pueden salir menos mensajes.",
    ),
    (
        131031,
        "A conta do WhatsApp Business está bloqueada.",
        "La cuenta de WhatsApp Business está bloqueada.",
    ),
    (
        190,
        "O token de acesso do WhatsApp é inválido ou venceu; um administrador precisa renová-lo.",
        "El token de acceso de WhatsApp no es válido o caducó; un administrador debe renovarlo.",
    ),
    (
        100,
        "O WhatsApp recusou o pedido como inválido.",
        "WhatsApp rechazó la solicitud por no ser válida.",
    ),
];

/// Meta's refusal code explained in `lang` (pt_BR for English, whose
/// sentence the handler already has).
pub(super) fn meta_explanation(code: i64, lang: Lang) -> &'static str {
    let (pt, es) = META
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, pt, es)| (*pt, *es))
        .unwrap_or((
            "O WhatsApp recusou a mensagem.",
            "WhatsApp rechazó el mensaje.",
        ));
    match lang {
        Lang::EsEs => es,
        _ => pt,
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
