// Sign-in, and a session that lasts the working day. Locally: a role picker
// that asks the local gateway for a token of the demo tenant
// (`POST /_local/token`, a local-only route). In AWS: the OAuth 2.0
// authorization-code flow with PKCE against the Cognito user pool of
// `config.json` (no secret in the page), with `state` and `nonce` checked
// and used once. The ID token carries the tenant and role claims the API
// reads; it is renewed before it expires (Cognito's refresh token, or a
// fresh local token), so nobody is sent back to sign-in every hour.

import { h } from "./ui.js";
import { t } from "./i18n.js";

const KEY = "afterhours.token";
const REFRESH = "afterhours.refresh";
const LOCAL = "afterhours.local";
const RETURN = "afterhours.return";
const FLOW = { state: "afterhours.state", verifier: "afterhours.verifier", nonce: "afterhours.nonce" };

/** The claims of a JWT (not verified here: the API verifies it). */
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch { return null; }
}

/** The stored session, or null when there is none or its token expired. */
export function session() {
  const token = sessionStorage.getItem(KEY);
  const c = token && claims(token);
  if (!c || (c.exp && c.exp * 1000 < Date.now())) return null;
  const groups = c["cognito:groups"] || [c.role];
  const role = ["admin", "supervisor", "agent"].find((r) => groups.includes(r)) || "agent";
  return {
    token, agent: c.sub, tenant: c["custom:tenant_id"] || c.tenant_id, role,
    name: (c.name || c.email || c.sub || "").trim(), expiresAt: c.exp ? c.exp * 1000 : null,
  };
}

export function signOut(config) {
  for (const k of [KEY, REFRESH, LOCAL]) sessionStorage.removeItem(k);
  if (config.signIn === "cognito" && config.cognito) {
    const c = config.cognito;
    const u = new URL(`${c.domain}/logout`);
    u.searchParams.set("client_id", c.clientId);
    u.searchParams.set("logout_uri", c.redirectUri);
    window.location.assign(u);
  } else {
    window.location.reload();
  }
}

async function localToken(who) {
  const res = await fetch("/_local/token", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(who),
  });
  if (!res.ok) return null;
  const body = await res.json();
  sessionStorage.setItem(KEY, body.token);
  return session();
}

/**
 * A fresh token for the same person, without asking them: a new local token,
 * or Cognito's refresh-token grant. Null when that is not possible (then
 * they sign in again).
 */
export async function renew(config) {
  try {
    if (config.signIn === "cognito") {
      const refresh = sessionStorage.getItem(REFRESH);
      if (!refresh || !config.cognito) return null;
      const c = config.cognito;
      const res = await fetch(`${c.domain}/oauth2/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", client_id: c.clientId, refresh_token: refresh }),
      });
      const tokens = res.ok ? await res.json() : {};
      if (!tokens.id_token) return null;
      sessionStorage.setItem(KEY, tokens.id_token);
      if (tokens.refresh_token) sessionStorage.setItem(REFRESH, tokens.refresh_token);
      return session();
    }
    const who = JSON.parse(sessionStorage.getItem(LOCAL) || "null");
    return who ? await localToken(who) : null;
  } catch { return null; }
}

/** Renders the sign-in screen into `view`; resolves once a token is stored. */
export async function signIn(config, view) {
  if (config.signIn === "cognito") return cognito(config.cognito, view);
  return new Promise((resolve) => {
    const pick = (role, agentId) => async () => {
      const who = { role, agentId };
      // A shorter lifetime, for trying the renewal out.
      const ttl = Number(localStorage.getItem("afterhours.localTokenSeconds"));
      if (ttl > 0) who.ttlSeconds = ttl;
      sessionStorage.setItem(LOCAL, JSON.stringify(who));
      resolve(await localToken(who));
    };
    view.replaceChildren(h("section.card.signin", {},
      h("h1", {}, t("signInTitle")),
      h("p", {}, t("signInLocal")),
      h("div.roles", {},
        h("button.primary", { type: "button", id: "as-agent-1", onclick: pick("agent", "agent-1") }, t("roleAgent")),
        h("button", { type: "button", id: "as-agent-2", onclick: pick("agent", "agent-2") }, t("roleAgent2")),
        h("button", { type: "button", id: "as-supervisor-1", onclick: pick("supervisor") }, t("roleSupervisor")),
        h("button", { type: "button", id: "as-admin-1", onclick: pick("admin") }, t("roleAdmin")))));
  });
}

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

/** The values of one sign-in attempt, removed as they are read: each is used once. */
function takeFlow() {
  const out = {};
  for (const [k, key] of Object.entries(FLOW)) {
    out[k] = sessionStorage.getItem(key);
    sessionStorage.removeItem(key);
  }
  return out;
}

/**
 * The code Cognito sent back, exchanged for tokens, only when this page
 * started that sign-in: the returned `state` equals the stored one (none
 * stored: refused), the verifier is there, and the ID token's `nonce` is
 * ours. Null otherwise.
 */
export async function exchange(c, search, fetchImpl = fetch) {
  const params = new URLSearchParams(search);
  const code = params.get("code");
  if (!code) return null;
  const flow = takeFlow();
  if (!flow.state || !flow.verifier || !flow.nonce || params.get("state") !== flow.state) return null;
  const res = await fetchImpl(`${c.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", client_id: c.clientId, code,
      redirect_uri: c.redirectUri, code_verifier: flow.verifier,
    }),
  });
  const tokens = res.ok ? await res.json() : {};
  if (!tokens.id_token || claims(tokens.id_token)?.nonce !== flow.nonce) return null;
  return tokens;
}

async function cognito(c, view) {
  const tokens = await exchange(c, window.location.search);
  if (tokens) {
    sessionStorage.setItem(KEY, tokens.id_token);
    if (tokens.refresh_token) sessionStorage.setItem(REFRESH, tokens.refresh_token);
    const back = sessionStorage.getItem(RETURN) || "";
    sessionStorage.removeItem(RETURN);
    window.history.replaceState(null, "", c.redirectUri + back);
    return session();
  }
  if (window.location.search.includes("code=")) window.history.replaceState(null, "", c.redirectUri + window.location.hash);
  const verifier = random(32);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state = random(16);
  const nonce = random(16);
  sessionStorage.setItem(FLOW.verifier, verifier);
  sessionStorage.setItem(FLOW.state, state);
  sessionStorage.setItem(FLOW.nonce, nonce);
  sessionStorage.setItem(RETURN, window.location.hash);
  const u = new URL(`${c.domain}/oauth2/authorize`);
  for (const [k, v] of Object.entries({
    response_type: "code", client_id: c.clientId, redirect_uri: c.redirectUri,
    scope: c.scopes || "openid email profile", code_challenge_method: "S256", code_challenge: challenge, state, nonce,
  })) u.searchParams.set(k, v);
  view.replaceChildren(h("section.card.signin", {}, h("h1", {}, t("signInTitle")),
    h("a", { href: u.toString(), class: "button primary", id: "cognito-sign-in" }, t("signInCognito"))));
  return new Promise(() => {});
}
