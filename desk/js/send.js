// The send modal: choose an approved template of the channel, fill each
// variable (and the header's media link when the template needs one), see
// the filled preview, confirm. The API's refusals come back as a message on
// the field they name (422) or as a toast (429 and the rest).

import { call, errorMessage, fieldErrors } from "./api.js";
import { h, openModal, toast } from "./ui.js";
import { t } from "./i18n.js";

const BAD_TEXT = /[\n\r\t]| {5,}/;

/**
 * Opens the modal. `target` is {recordId} or {channel, to}; `channel` is the
 * phone number id whose templates apply; `who` names the customer.
 */
export async function openSend({ target, channel, who, onSent }) {
  const res = await call("GET", "/templates", { query: { channel } });
  if (res.status !== 200) { toast(errorMessage(res), "error"); return; }
  const templates = res.body.items;
  const key = (tp) => `${tp.name}|${tp.language}`;
  const select = h("select", { id: "tpl", required: true },
    h("option", { value: "" }, t("chooseTemplate")),
    templates.map((tp) => h("option", { value: key(tp) }, `${tp.name} (${tp.language})`)));
  const fields = h("div", { id: "vars" });
  const preview = h("div.preview", { id: "preview", "aria-live": "polite" });
  const inputs = new Map();
  let chosen = null;

  const errorOf = (name) => fields.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  const showError = (name, message) => {
    const input = inputs.get(name);
    if (input) { input.classList.toggle("invalid", !!message); input.setAttribute("aria-invalid", message ? "true" : "false"); }
    const e = errorOf(name);
    if (e) e.textContent = message || "";
  };
  const render = () => {
    if (!chosen) { preview.textContent = ""; return; }
    let text = [chosen.headerText, chosen.body, chosen.footer].filter(Boolean).join("\n\n");
    for (const v of chosen.variables) {
      const value = inputs.get(v).value;
      const ph = v.startsWith("header.") ? v.slice(7) : v;
      text = text.split(`{{${ph}}}`).join(value || `[${v}]`);
    }
    preview.textContent = (chosen.header ? `[${chosen.header.format}] ` : "") + text;
  };
  const field = (name, label, attrs = {}) => {
    const input = h("input", { id: `f-${name}`, name, oninput: () => { showError(name, ""); render(); }, ...attrs });
    inputs.set(name, input);
    return h("label", {}, label, input, h("span.field-error", { dataset: { errorFor: name } }));
  };
  select.addEventListener("change", () => {
    chosen = templates.find((tp) => key(tp) === select.value) || null;
    inputs.clear();
    fields.replaceChildren();
    if (!chosen) { render(); return; }
    if (chosen.header) {
      const kind = chosen.header.format.toLowerCase();
      fields.append(field("header", t("headerMedia", { kind }), { type: "url", placeholder: "https://" }));
      if (kind === "document") fields.append(field("header.filename", t("fileName")));
    }
    for (const v of chosen.variables) fields.append(field(v, t("variable", { name: v })));
    render();
  });

  const check = () => {
    let ok = !!chosen;
    if (!chosen) toast(t("chooseTemplate"), "error");
    for (const [name, input] of inputs) {
      const v = input.value;
      let msg = "";
      if (name === "header.filename") msg = "";
      else if (!v.trim()) msg = t("required");
      else if (name === "header" && !/^https:\/\/\S+$/.test(v.trim())) msg = t("httpsOnly");
      else if (BAD_TEXT.test(v)) msg = t("noLineBreaks");
      showError(name, msg);
      if (msg) ok = false;
    }
    return ok;
  };
  const body = () => {
    const variables = {};
    for (const v of chosen.variables) variables[v] = inputs.get(v).value;
    const b = { template: { name: chosen.name, language: chosen.language }, variables };
    if (chosen.header) {
      b.header = { type: chosen.header.format.toLowerCase(), link: inputs.get("header").value.trim() };
      const fn = inputs.get("header.filename")?.value.trim();
      if (fn) b.header.filename = fn;
    }
    return target.recordId ? b : { ...b, channel: target.channel, to: target.to };
  };
  const idempotencyKey = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
  const confirm = h("button.primary", { type: "submit", id: "confirm" }, t("confirm"));
  const form = h("form", {
    noValidate: true,
    method: "dialog",
    onsubmit: async (ev) => {
      ev.preventDefault();
      if (!check()) { inputs.values().next().value?.focus(); return; }
      confirm.disabled = true;
      const path = target.recordId ? `/contacts/${encodeURIComponent(target.recordId)}/active-messages` : "/active-messages";
      const r = await call("POST", path, { body: body(), headers: { "Idempotency-Key": idempotencyKey } });
      confirm.disabled = false;
      if (r.status === 200) {
        toast(t("sent"));
        close();
        onSent?.(r.body);
      } else if (r.status === 422 && r.body?.error?.code === "template_variables_invalid") {
        const errs = fieldErrors(r);
        for (const [k, m] of Object.entries(errs)) showError(k, m);
        toast(errorMessage(r), "error");
      } else {
        toast(errorMessage(r), "error");
      }
    },
  },
  h("h2.modal-body", { id: "modal-title", style: "margin:0;padding-bottom:0;font-size:1.1rem" }, t("modalTitle", { who })),
  h("div.modal-body", {},
    h("label", {}, t("template"), select),
    templates.length ? null : h("p.empty", {}, t("noTemplates")),
    fields,
    h("div", {}, h("div", { style: "font-size:.9rem;color:var(--muted)" }, t("preview")), preview)),
  h("div.modal-actions", {},
    h("button", { type: "button", onclick: () => close() }, t("cancel")),
    confirm));
  const close = openModal(form);
}
