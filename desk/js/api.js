// The HTTP API as the desk calls it: the signed-in token, the chosen
// language, JSON in and out. Every answer comes back as {status, body,
// headers}; a refusal's sentence is `errorMessage(res)`.

import { getLang, t } from "./i18n.js";

const state = { base: "", token: null };

export function configure(base, token) {
  state.base = (base || "").replace(/\/$/, "");
  state.token = token;
}

export async function call(method, path, { body, headers = {}, query } = {}) {
  const url = new URL(state.base + path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const h = { "Accept-Language": getLang().replace("_", "-"), ...headers };
  if (state.token) h.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) h["Content-Type"] = h["Content-Type"] || "application/json";
  let res;
  try {
    res = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { status: 0, body: { error: { code: "network", message: t("network") } }, headers: new Headers() };
  }
  const text = await res.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { error: { message: text } }; }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** The API's sentence for a refusal (it is already in the chosen language). */
export const errorMessage = (res) => res.body?.error?.message || res.body?.message || `HTTP ${res.status}`;

/** The per-field details of a 422, as {field or variable: message}. */
export function fieldErrors(res) {
  const out = {};
  for (const d of res.body?.error?.details || []) {
    const k = d.field ?? d.variable;
    if (k !== undefined) out[k] = d.message;
  }
  return out;
}
