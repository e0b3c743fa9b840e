// General settings: the Active Messages section of seed 2, business hours,
// time zone, language, 24/7, "Notify the next service hours" and the prompt
// texts. Admins save with PATCH + If-Match; each 422 shows on its field.
// Others see the same form, read-only.

import { call, errorMessage, fieldErrors } from "./api.js";
import { h, toast } from "./ui.js";
import { t, LANG_NAMES } from "./i18n.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ZONES = ["America/Sao_Paulo", "America/Manaus", "America/Bogota", "America/Mexico_City", "America/New_York",
  "Europe/Madrid", "Europe/Lisbon", "Asia/Tokyo", "UTC"];

const intervalsText = (list) => (list || []).map(([a, b]) => `${a}-${b}`).join(", ");
const parseIntervals = (text) => text.split(",").map((s) => s.trim()).filter(Boolean)
  .map((s) => s.split("-").map((x) => x.trim()));
// A closed day is written with the page's word for it (closed, fechado,
// cerrado); any of the three is read back.
const CLOSED = /^(closed|fechado|cerrado)$/i;
const exceptionsText = (list) => (list || [])
  .map((e) => (e.closed ? `${e.date} ${t("closedWord")}` : `${e.date} ${intervalsText(e.intervals)}`)).join("\n");
function parseExceptions(text) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
    const [date, ...rest] = l.split(/\s+/);
    const tail = rest.join(" ");
    return CLOSED.test(tail) || !tail ? { date, closed: true } : { date, intervals: parseIntervals(tail) };
  });
}

export async function settingsView(view, session, onSaved) {
  const res = await call("GET", "/settings");
  if (res.status !== 200) { toast(errorMessage(res), "error"); return; }
  let etag = res.headers.get("etag");
  const s = res.body;
  const admin = session.role === "admin";
  const errors = new Map();
  const wrap = (field, label, input) => {
    const err = h("span.field-error", { dataset: { errorFor: field } });
    errors.set(field, { input, err });
    input.dataset.field = field;
    input.disabled = !admin;
    return h("label", {}, label, input, err);
  };
  const check = (field, label, checked) => {
    const input = h("input", { type: "checkbox", id: `s-${field}`, checked });
    const err = h("span.field-error", { dataset: { errorFor: field } });
    errors.set(field, { input, err });
    input.disabled = !admin;
    return h("div", {}, h("label.check", {}, input, label), err);
  };
  const enabled = check("activeMessageLimit.enabled", t("limitEnabled"), s.activeMessageLimit.enabled);
  const max = h("input", { type: "number", id: "s-max", min: 1, max: 100, value: s.activeMessageLimit.maxPerContactPer24h });
  const tz = h("input", { id: "s-timezone", value: s.timezone, list: "zones" });
  const lang = h("select", { id: "s-language" }, Object.entries(LANG_NAMES).map(([l, name]) => h("option", { value: l, selected: l === s.language }, name)));
  const always = check("alwaysOpen", t("alwaysOpenLabel"), s.alwaysOpen);
  const notify = check("notifyNextServiceHours", t("notifyLabel"), s.notifyNextServiceHours);
  const weekly = Object.fromEntries(DAYS.map((d) => [d, h("input", { id: `s-${d}`, value: intervalsText(s.businessHours.weekly?.[d]) })]));
  const exc = h("textarea", { id: "s-exceptions", rows: 3, value: exceptionsText(s.businessHours.exceptions) });
  const pt = s.promptTexts || {};
  const pBody = h("textarea", { id: "s-prompt-body", rows: 2, value: pt.body || "" });
  const pYes = h("input", { id: "s-prompt-yes", value: pt.yesButton || "", maxLength: 20 });
  const pNo = h("input", { id: "s-prompt-no", value: pt.noButton || "", maxLength: 20 });

  const showErrors = (byField) => {
    for (const [field, { input, err }] of errors) {
      const message = Object.entries(byField).find(([f]) => f === field || f.startsWith(`${field}.`) || f.startsWith(`${field}[`))?.[1] || "";
      err.textContent = message;
      input.classList.toggle("invalid", !!message);
      input.setAttribute("aria-invalid", message ? "true" : "false");
    }
  };
  const patch = () => {
    const prompt = pBody.value.trim() || pYes.value.trim() || pNo.value.trim()
      ? { body: pBody.value, yesButton: pYes.value, noButton: pNo.value } : null;
    return {
      activeMessageLimit: { enabled: errors.get("activeMessageLimit.enabled").input.checked, maxPerContactPer24h: Number(max.value) },
      timezone: tz.value.trim(), language: lang.value,
      alwaysOpen: errors.get("alwaysOpen").input.checked,
      notifyNextServiceHours: errors.get("notifyNextServiceHours").input.checked,
      businessHours: {
        weekly: Object.fromEntries(DAYS.map((d) => [d, weekly[d].value.trim() ? parseIntervals(weekly[d].value) : null])),
        exceptions: parseExceptions(exc.value),
      },
      promptTexts: prompt,
    };
  };
  const save = h("button.primary", { type: "submit", id: "save", hidden: !admin }, t("save"));
  const form = h("form.card", {
    noValidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      save.disabled = true;
      const r = await call("PATCH", "/settings", {
        body: patch(), headers: { "Content-Type": "application/merge-patch+json", ...(etag ? { "If-Match": etag } : {}) },
      });
      save.disabled = false;
      if (r.status === 200) {
        etag = r.headers.get("etag") || etag;
        showErrors({});
        toast(t("saved"));
        onSaved?.(r.body);
      } else if (r.status === 422) {
        showErrors(fieldErrors(r));
        toast(errorMessage(r), "error");
      } else {
        toast(errorMessage(r), "error");
      }
    },
  },
  admin ? null : h("p.hint", { id: "read-only" }, t("readOnly")),
  h("div", { style: "display:grid;gap:14px" },
    h("fieldset", { id: "active-messages" }, h("legend", {}, t("activeMessages")),
      enabled, wrap("activeMessageLimit.maxPerContactPer24h", t("limitMax"), max)),
    h("fieldset", {}, h("legend", {}, t("hours")),
      h("div.grid2", {}, wrap("timezone", t("timezone"), tz), wrap("language", t("language"), lang)),
      always, notify,
      h("p", { style: "margin:0;color:var(--muted)" }, t("weekly")),
      h("div.grid2", {}, DAYS.map((d) => wrap(`businessHours.weekly.${d}`, t("days")[d], weekly[d]))),
      wrap("businessHours.exceptions", t("exceptions"), exc)),
    h("fieldset", {}, h("legend", {}, t("prompt")),
      wrap("promptTexts.body", t("promptBody"), pBody),
      h("div.grid2", {}, wrap("promptTexts.yesButton", t("yesButton"), pYes), wrap("promptTexts.noButton", t("noButton"), pNo))),
    h("div", {}, save)),
  h("datalist", { id: "zones" }, ZONES.map((z) => h("option", { value: z }))));
  [max, tz, lang, exc, pBody, pYes, pNo, ...Object.values(weekly)].forEach((i) => { i.disabled = !admin; });
  view.replaceChildren(h("h1", {}, t("settingsTitle")), form);
}
