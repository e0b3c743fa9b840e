// Sign-in. Locally: a role picker that asks the local gateway for a token of
// the demo tenant (`POST /_local/token`, a local-only route). In AWS: the
// OAuth 2.0 authorization-code flow with PKCE against the Cognito user pool
// of `config.json` (no secret in the page); the ID token carries the
// tenant and role claims the API reads.

import { h } from "./ui.js";
import { t } from "./i18n.js";

const KEY = "afterhours.token";

/** The claims of a JWT (not verified: the API verifies it). */
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch { return null; }
}

export function session() {
  const token = sessionStorage.getItem(KEY);
  const c = token && claims(token);
  if (!c || (c.exp && c.exp * 1000 < Date.now())) return null;
  const groups = c["cognito:groups"] || [c.role];
  const role = ["admin", "supervisor", "agent"].find((r) => groups.includes(r)) || "agent";
  return { token, agent: c.sub, tenant: c["custom:tenant_id"] || c.tenant_id, role };
}

export function signOut(config) {
  sessionStorage.removeItem(KEY);
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

/** Renders the sign-in screen into `view`; resolves once a token is stored. */
export async function signIn(config, view) {
  if (config.signIn === "cognito") return cognito(config.cognito, view);
  return new Promise((resolve) => {
    const pick = (role, agentId) => async () => {
      const res = await fetch("/_local/token", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ role, agentId }),
      });
      const body = await res.json();
      sessionStorage.setItem(KEY, body.token);
      resolve(session());
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

async function cognito(c, view) {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  if (code && params.get("state") === sessionStorage.getItem("afterhours.state")) {
    const res = await fetch(`${c.domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code", client_id: c.clientId, code,
        redirect_uri: c.redirectUri, code_verifier: sessionStorage.getItem("afterhours.verifier") || "",
      }),
    });
    const tokens = await res.json();
    if (tokens.id_token) {
      sessionStorage.setItem(KEY, tokens.id_token);
      window.history.replaceState(null, "", c.redirectUri);
      return session();
    }
  }
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("afterhours.verifier", verifier);
  sessionStorage.setItem("afterhours.state", state);
  const u = new URL(`${c.domain}/oauth2/authorize`);
  for (const [k, v] of Object.entries({
    response_type: "code", client_id: c.clientId, redirect_uri: c.redirectUri,
    scope: c.scopes || "openid email profile", code_challenge_method: "S256", code_challenge: challenge, state,
  })) u.searchParams.set(k, v);
  view.replaceChildren(h("section.card.signin", {}, h("h1", {}, t("signInTitle")),
    h("a", { href: u.toString(), class: "button primary" }, t("signInCognito"))));
  return new Promise(() => {});
}
