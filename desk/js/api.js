// The HTTP API as the desk calls it: the signed-in token, the chosen
// language, JSON in and out. Every answer comes back as {status, body,
// headers}; a refusal's sentence is `errorMessage(res)`. A 401 (the token
// expired or was revoked) renews the token once and tries again.

import { getLang, t } from "./i18n.js";

const state = { base: "", token: null, renew: null };

/** `renew`: async () => a fresh token, or null when the person must sign in again. */
export function configure(base, token, renew = null) {
  state.base = (base || "").replace(/\/$/, "");
  state.token = token;
  state.renew = renew;
}

export const setToken = (token) => { state.token = token; };

export async function call(method, path, options = {}) {
  const res = await once(method, path, options);
  if (res.status !== 401 || !state.renew) return res;
  const fresh = await state.renew();
  if (!fresh) return res;
  state.token = fresh;
  return once(method, path, options);
}

async function once(method, path, { body, headers = {}, query } = {}) {
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
