// The desk's texts in pt_BR, en_US and es_ES, and the tenant-local formats.
// Dates come from the API already in the tenant's zone (ISO 8601 with its
// offset), so they are shown as written, never converted to the browser's.

const TEXTS = {
  en_US: {
    language: "Language", signOut: "Sign out", navContacts: "Contacts outside business hours",
    navGeneral: "Send active message", navSettings: "General settings",
    signInTitle: "Sign in", signInLocal: "Local stack: pick who you are.",
    roleAgent: "Agent (agent-1)", roleAgent2: "Agent (agent-2)", roleSupervisor: "Supervisor", roleAdmin: "Admin",
    signInCognito: "Sign in with your company account",
    contactsTitle: "Contacts outside business hours", agent: "Agent", callbackFilter: "Requested callback?",
    sentFilter: "Message sent?", any: "Any", yes: "Yes", no: "No", na: "N/A", waiting: "Waiting",
    colDate: "Contact date", colName: "Name", colNumber: "Number", colCallback: "Requested callback?",
    colSent: "Message sent?", colAction: "Action", send: "Send active message", noName: "(No name)",
    empty: "Nobody wrote while the team was closed in the last 7 days.",
    next: "Next page", first: "First page", refresh: "Refresh",
    naHint: "Many contacts show N/A: check the \"Notify the next service hours\" option in General settings.",
    alwaysOpen: "24/7 service is on: nobody is ever outside business hours, so this list stays empty. The previous contacts come back if 24/7 service is switched off.",
    availableIn: "Available again in {left}, at {at}", capReached: "Active message limit reached for this customer",
    modalTitle: "Send active message to {who}", template: "Template", chooseTemplate: "Choose an approved template",
    noTemplates: "This channel has no approved template.", variable: "Variable {name}", headerMedia: "Header {kind} (https link)",
    fileName: "File name (optional)", preview: "Preview", confirm: "Confirm and send", cancel: "Cancel",
    required: "Fill this in.", noLineBreaks: "No line breaks, tabs or more than 4 spaces in a row.", httpsOnly: "Use an https:// link.",
    sent: "Active message sent.", generalTitle: "Send an active message to any customer", channel: "Channel",
    number: "Customer number (with country code)", check: "Check", quotaLeft: "{n} of {limit} left in 24 h",
    capOff: "No limit on active messages.", settingsTitle: "General settings", readOnly: "Only admins can change these settings.",
    activeMessages: "Active messages", limitEnabled: "Limit the total number of active messages per customer",
    limitMax: "Maximum per customer in 24 hours", hours: "Business hours", weekly: "Weekly hours (e.g. 08:00-12:00, 13:00-18:00)", timezone: "Time zone",
    alwaysOpenLabel: "24/7 service", notifyLabel: "Notify the next service hours", prompt: "Prompt texts (empty: the language's defaults)",
    promptBody: "Message ({nextOpening} is the next opening)", yesButton: "Yes button", noButton: "No button",
    save: "Save", saved: "Settings saved.", invalidFields: "Some fields are not valid.",
    days: { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" },
    loading: "Loading…", network: "The service could not be reached.",
    roles: { agent: "agent", supervisor: "supervisor", admin: "admin" },
    skip: "Skip to content", closedWord: "closed",
    exceptions: "Date exceptions (one per line: 2026-12-25 closed, or 2026-12-24 08:00-12:00)",
    agentOption: "{name}: {n} contacts, {c} to call back", searchAgents: "Find an agent", moreAgents: "More agents…",
    handledFilter: "Handled?", order: "Order", orderNewest: "Newest first", orderOldest: "Leaving the list soonest first",
    markHandled: "Mark as handled", undo: "Undo", handledBy: "Handled by {who}, {at}", handledTitle: "Mark {who} as handled",
    note: "Note (optional: how you reached them)", handledDone: "Marked as handled.", undone: "No longer marked as handled.",
    sentBy: "by {who}, {at}", leavesIn: "leaves the list in {left}",
    delivery: { accepted: "Accepted", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Failed", unknown: "Unknown" },
    newContacts: "{n} new contacts — show", newContact: "1 new contact — show",
    capToast: "This customer already got {used} active messages from you in the last 24 hours (limit {limit}). You can send another active message to this customer at {when} (in {left}).",
    signInAgain: "Your session ended. Sign in again to go on.",
  },
  pt_BR: {
    language: "Idioma", signOut: "Sair", navContacts: "Contatos fora do horário de atendimento",
    navGeneral: "Enviar mensagem ativa", navSettings: "Configurações gerais",
    signInTitle: "Entrar", signInLocal: "Ambiente local: escolha quem você é.",
    roleAgent: "Agente (agent-1)", roleAgent2: "Agente (agent-2)", roleSupervisor: "Supervisor", roleAdmin: "Administrador",
    signInCognito: "Entrar com a conta da empresa",
    contactsTitle: "Contatos fora do horário de atendimento", agent: "Agente", callbackFilter: "Solicitou retorno?",
    sentFilter: "Mensagem enviada?", any: "Todos", yes: "Sim", no: "Não", na: "N/A", waiting: "Aguardando",
    colDate: "Data do contato", colName: "Nome", colNumber: "Número", colCallback: "Solicitou retorno?",
    colSent: "Mensagem enviada?", colAction: "Ação", send: "Enviar mensagem ativa", noName: "(Sem nome)",
    empty: "Ninguém escreveu com a equipe fechada nos últimos 7 dias.",
    next: "Próxima página", first: "Primeira página", refresh: "Atualizar",
    naHint: "Muitos contatos aparecem como N/A: verifique a opção \"Notificar o próximo horário de atendimento\" nas Configurações gerais.",
    alwaysOpen: "O atendimento 24/7 está ligado: ninguém fica fora do horário, então esta lista fica vazia. Os contatos anteriores voltam se o 24/7 for desligado.",
    availableIn: "Disponível novamente em {left}, às {at}", capReached: "Limite de mensagens ativas atingido para este cliente",
    modalTitle: "Enviar mensagem ativa para {who}", template: "Modelo", chooseTemplate: "Escolha um modelo aprovado",
    noTemplates: "Este canal não tem modelo aprovado.", variable: "Variável {name}", headerMedia: "Cabeçalho {kind} (link https)",
    fileName: "Nome do arquivo (opcional)", preview: "Pré-visualização", confirm: "Confirmar e enviar", cancel: "Cancelar",
    required: "Preencha este campo.", noLineBreaks: "Sem quebras de linha, tabulações ou mais de 4 espaços seguidos.", httpsOnly: "Use um link https://.",
    sent: "Mensagem ativa enviada.", generalTitle: "Enviar mensagem ativa a qualquer cliente", channel: "Canal",
    number: "Número do cliente (com código do país)", check: "Verificar", quotaLeft: "Restam {n} de {limit} em 24 h",
    capOff: "Sem limite de mensagens ativas.", settingsTitle: "Configurações gerais", readOnly: "Só administradores podem alterar estas configurações.",
    activeMessages: "Mensagens ativas", limitEnabled: "Limitar o total de mensagens ativas por cliente",
    limitMax: "Máximo por cliente em 24 horas", hours: "Horário de atendimento", weekly: "Horário semanal (ex.: 08:00-12:00, 13:00-18:00)", timezone: "Fuso horário",
    alwaysOpenLabel: "Atendimento 24/7", notifyLabel: "Notificar o próximo horário de atendimento", prompt: "Textos do aviso (vazio: os do idioma)",
    promptBody: "Mensagem ({nextOpening} é a próxima abertura)", yesButton: "Botão Sim", noButton: "Botão Não",
    save: "Salvar", saved: "Configurações salvas.", invalidFields: "Alguns campos não são válidos.",
    days: { mon: "Seg", tue: "Ter", wed: "Qua", thu: "Qui", fri: "Sex", sat: "Sáb", sun: "Dom" },
    loading: "Carregando…", network: "Não foi possível falar com o serviço.",
    roles: { agent: "agente", supervisor: "supervisor", admin: "administrador" },
    skip: "Pular para o conteúdo", closedWord: "fechado",
    exceptions: "Exceções por data (uma por linha: 2026-12-25 fechado, ou 2026-12-24 08:00-12:00)",
    agentOption: "{name}: {n} contatos, {c} a retornar", searchAgents: "Buscar agente", moreAgents: "Mais agentes…",
    handledFilter: "Resolvido?", order: "Ordem", orderNewest: "Mais recentes primeiro", orderOldest: "Os que saem da lista antes primeiro",
    markHandled: "Marcar como resolvido", undo: "Desfazer", handledBy: "Resolvido por {who}, {at}", handledTitle: "Marcar {who} como resolvido",
    note: "Observação (opcional: como você falou com o cliente)", handledDone: "Marcado como resolvido.", undone: "Não está mais marcado como resolvido.",
    sentBy: "por {who}, {at}", leavesIn: "sai da lista em {left}",
    delivery: { accepted: "Aceita", sent: "Enviada", delivered: "Entregue", read: "Lida", failed: "Falhou", unknown: "Desconhecido" },
    newContacts: "{n} novos contatos — mostrar", newContact: "1 novo contato — mostrar",
    capToast: "Este cliente já recebeu {used} mensagens ativas suas nas últimas 24 horas (limite {limit}). Você poderá enviar outra às {when} (em {left}).",
    signInAgain: "Sua sessão terminou. Entre de novo para continuar.",
  },
  es_ES: {
    language: "Idioma", signOut: "Salir", navContacts: "Contactos fuera del horario de atención",
    navGeneral: "Enviar mensaje activo", navSettings: "Configuración general",
    signInTitle: "Iniciar sesión", signInLocal: "Entorno local: elija quién es.",
    roleAgent: "Agente (agent-1)", roleAgent2: "Agente (agent-2)", roleSupervisor: "Supervisor", roleAdmin: "Administrador",
    signInCognito: "Iniciar sesión con la cuenta de la empresa",
    contactsTitle: "Contactos fuera del horario de atención", agent: "Agente", callbackFilter: "¿Solicitó respuesta?",
    sentFilter: "¿Mensaje enviado?", any: "Todos", yes: "Sí", no: "No", na: "N/A", waiting: "Esperando",
    colDate: "Fecha del contacto", colName: "Nombre", colNumber: "Número", colCallback: "¿Solicitó respuesta?",
    colSent: "¿Mensaje enviado?", colAction: "Acción", send: "Enviar mensaje activo", noName: "(Sin nombre)",
    empty: "Nadie escribió con el equipo cerrado en los últimos 7 días.",
    next: "Página siguiente", first: "Primera página", refresh: "Actualizar",
    naHint: "Muchos contactos aparecen como N/A: revise la opción \"Notificar el próximo horario de atención\" en Configuración general.",
    alwaysOpen: "La atención 24/7 está activada: nadie queda fuera del horario, así que esta lista queda vacía. Los contactos anteriores vuelven si se desactiva.",
    availableIn: "Disponible de nuevo en {left}, a las {at}", capReached: "Límite de mensajes activos alcanzado para este cliente",
    modalTitle: "Enviar mensaje activo a {who}", template: "Plantilla", chooseTemplate: "Elija una plantilla aprobada",
    noTemplates: "Este canal no tiene plantillas aprobadas.", variable: "Variable {name}", headerMedia: "Encabezado {kind} (enlace https)",
    fileName: "Nombre del archivo (opcional)", preview: "Vista previa", confirm: "Confirmar y enviar", cancel: "Cancelar",
    required: "Complete este campo.", noLineBreaks: "Sin saltos de línea, tabulaciones ni más de 4 espacios seguidos.", httpsOnly: "Use un enlace https://.",
    sent: "Mensaje activo enviado.", generalTitle: "Enviar un mensaje activo a cualquier cliente", channel: "Canal",
    number: "Número del cliente (con código de país)", check: "Comprobar", quotaLeft: "Quedan {n} de {limit} en 24 h",
    capOff: "Sin límite de mensajes activos.", settingsTitle: "Configuración general", readOnly: "Solo los administradores pueden cambiar esta configuración.",
    activeMessages: "Mensajes activos", limitEnabled: "Limitar el total de mensajes activos por cliente",
    limitMax: "Máximo por cliente en 24 horas", hours: "Horario de atención", weekly: "Horario semanal (ej.: 08:00-12:00, 13:00-18:00)", timezone: "Zona horaria",
    alwaysOpenLabel: "Atención 24/7", notifyLabel: "Notificar el próximo horario de atención", prompt: "Textos del aviso (vacío: los del idioma)",
    promptBody: "Mensaje ({nextOpening} es la próxima apertura)", yesButton: "Botón Sí", noButton: "Botón No",
    save: "Guardar", saved: "Configuración guardada.", invalidFields: "Algunos campos no son válidos.",
    days: { mon: "Lun", tue: "Mar", wed: "Mié", thu: "Jue", fri: "Vie", sat: "Sáb", sun: "Dom" },
    loading: "Cargando…", network: "No se pudo contactar con el servicio.",
    roles: { agent: "agente", supervisor: "supervisor", admin: "administrador" },
    skip: "Saltar al contenido", closedWord: "cerrado",
    exceptions: "Excepciones por fecha (una por línea: 2026-12-25 cerrado, o 2026-12-24 08:00-12:00)",
    agentOption: "{name}: {n} contactos, {c} por responder", searchAgents: "Buscar agente", moreAgents: "Más agentes…",
    handledFilter: "¿Resuelto?", order: "Orden", orderNewest: "Más recientes primero", orderOldest: "Los que salen antes de la lista primero",
    markHandled: "Marcar como resuelto", undo: "Deshacer", handledBy: "Resuelto por {who}, {at}", handledTitle: "Marcar {who} como resuelto",
    note: "Nota (opcional: cómo habló con el cliente)", handledDone: "Marcado como resuelto.", undone: "Ya no está marcado como resuelto.",
    sentBy: "por {who}, {at}", leavesIn: "sale de la lista en {left}",
    delivery: { accepted: "Aceptado", sent: "Enviado", delivered: "Entregado", read: "Leído", failed: "Falló", unknown: "Desconocido" },
    newContacts: "{n} contactos nuevos — mostrar", newContact: "1 contacto nuevo — mostrar",
    capToast: "Este cliente ya recibió {used} mensajes activos suyos en las últimas 24 horas (límite {limit}). Podrá enviar otro a las {when} (en {left}).",
    signInAgain: "Su sesión terminó. Inicie sesión de nuevo para continuar.",
  },
};

export const LANGS = Object.keys(TEXTS);
let lang = "pt_BR";

export function setLang(l) {
  if (TEXTS[l]) lang = l;
  document.documentElement.lang = lang.replace("_", "-");
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
}

export const getLang = () => lang;

/** The text `key` in the current language, `{name}` filled from `params`. */
export function t(key, params = {}) {
  const s = TEXTS[lang][key] ?? TEXTS.en_US[key] ?? key;
  return typeof s === "string" ? s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m)) : s;
}

/** The languages by their own names. */
export const LANG_NAMES = { pt_BR: "Português (Brasil)", en_US: "English (US)", es_ES: "Español (España)" };

let zone = null;

/** The tenant's time zone (IANA name): every time the page shows is read in it. */
export function setZone(tz) {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    zone = tz;
  } catch { zone = null; }
}

/** Day, month, hour and minute of an instant in the tenant's zone, by Intl.DateTimeFormat. */
function partsInZone(ms) {
  const f = new Intl.DateTimeFormat("en-US", {
    timeZone: zone || "UTC", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  return Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}

/** The API's ISO time as [year, month, day, hour, minute] in the tenant's zone. */
function fields(iso) {
  const ms = Date.parse(iso || "");
  if (zone && !Number.isNaN(ms)) {
    const p = partsInZone(ms);
    return [p.year, p.month, p.day, p.hour, p.minute];
  }
  // No zone known yet: the API's times already carry the tenant's offset.
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || "");
  return m ? m.slice(1, 6) : null;
}

/**
 * "21/11 22:14" (pt, es) or "11/21 22:14" (en): the one day-and-time format
 * of each language, in the list, the tooltip and the toast alike (the API's
 * sentences use the same), in the tenant's zone.
 */
export function localDateTime(iso) {
  const f = fields(iso);
  if (!f) return iso || "";
  const [, mo, d, h, mi] = f;
  return lang === "en_US" ? `${mo}/${d} ${h}:${mi}` : `${d}/${mo} ${h}:${mi}`;
}

/** "HH:MM" of the API's ISO time in the tenant's zone. */
export function localTime(iso) {
  const f = fields(iso);
  return f ? `${f[3]}:${f[4]}` : "";
}

/** Whether an ISO time falls on today's date in the tenant's zone. */
function isToday(iso) {
  const f = fields(iso);
  if (!f) return false;
  if (zone) {
    const n = partsInZone(Date.now());
    return f[0] === n.year && f[1] === n.month && f[2] === n.day;
  }
  const m = /([+-])(\d{2}):(\d{2})$|Z$/.exec(iso || "");
  const offset = !m || !m[1] ? 0 : (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return new Date(Date.now() + offset * 60000).toISOString().slice(0, 10) === f.slice(0, 3).join("-");
}

/** "06:25" when that time is today in the tenant's zone, else "22/11 06:25" (or "11/22 06:25"). */
export function whenLocal(iso) {
  return isToday(iso) ? localTime(iso) : localDateTime(iso);
}

/** "6 d 21 h" beyond two days, else as `duration`. */
export function longDuration(seconds) {
  const h = Math.floor(Math.max(0, seconds) / 3600);
  return h >= 48 ? `${Math.floor(h / 24)} d ${h % 24} h` : duration(seconds);
}

/** "3 h 12 min", "52 min", "45 s" (as the API's sentences say it). */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, "0")} min`;
}
