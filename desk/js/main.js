// The desk page: reads config.json, signs in, and shows the screen the hash
// names (#/contacts, #/general, #/settings) in the tenant's language.

import { configure, call, setToken } from "./api.js";
import { session as currentSession, signIn, signOut, renew } from "./auth.js";
import { setLang, getLang, setZone, t, LANGS, LANG_NAMES } from "./i18n.js";
import { h, toast } from "./ui.js";
import { contactsView } from "./contacts.js";
import { generalView } from "./general.js";
import { settingsView } from "./settings.js";
import { startTicker } from "./quota.js";

const view = document.getElementById("view");
let refresh = null;

async function loadConfig() {
  try {
    const res = await fetch("config.json", { cache: "no-store" });
    return await res.json();
  } catch { return { apiUrl: "", signIn: "local" }; }
}

function nav(current) {
  const link = (hash, key) => h("a", { href: `#/${hash}`, "aria-current": current === hash ? "page" : null }, t(key));
  document.getElementById("nav").replaceChildren(
    link("contacts", "navContacts"), link("general", "navGeneral"), link("settings", "navSettings"));
}

async function route(session, settings) {
  const [path, query] = (window.location.hash.slice(2) || "contacts").split("?");
  const params = new URLSearchParams(query || "");
  nav(path);
  if (path === "general") refresh = await generalView(view, session, settings);
  else if (path === "settings") refresh = await settingsView(view, session, () => {});
  else refresh = await contactsView(view, session, params);
}

/** The person in the header: their name and role. */
function showUser(session) {
  document.getElementById("user").textContent = `${session.name || session.agent} · ${t("roles")[session.role] || session.role}`;
}

/**
 * Keeps the session alive for the working day: the token is renewed a
 * minute before it expires (sooner for a short one), and a request refused
 * with 401 renews it once and retries. Only when renewal fails does the
 * person sign in again, and they come back to the same screen.
 */
function keepSession(config, start) {
  let session = start;
  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    if (!session.expiresAt) return;
    const left = session.expiresAt - Date.now();
    timer = setTimeout(() => renewNow(), Math.max(1000, left > 120000 ? left - 60000 : left * 0.6));
  };
  const renewNow = async () => {
    let fresh = await renew(config);
    if (!fresh) {
      toast(t("signInAgain"), "error");
      const screen = document.getElementById("view");
      const kept = [...screen.childNodes];
      fresh = await signIn(config, screen);
      screen.replaceChildren(...kept);
    }
    session = fresh;
    setToken(fresh.token);
    showUser(fresh);
    schedule();
    return fresh.token;
  };
  schedule();
  return renewNow;
}

async function main() {
  const config = await loadConfig();
  const stored = localStorage.getItem("afterhours.lang");
  setLang(LANGS.includes(stored) ? stored : (navigator.language?.startsWith("es") ? "es_ES" : navigator.language?.startsWith("en") ? "en_US" : "pt_BR"));
  let session = currentSession();
  if (!session) session = await signIn(config, view);
  configure(config.apiUrl, session.token, keepSession(config, session));
  showUser(session);
  const out = document.getElementById("signout");
  out.hidden = false;
  out.onclick = () => signOut(config);
  // The tenant's language by default, unless the person chose one here.
  const settings = await call("GET", "/settings");
  if (!stored && settings.status === 200 && LANGS.includes(settings.body.language)) setLang(settings.body.language);
  if (settings.status === 200) setZone(settings.body.timezone);
  const langSelect = document.getElementById("lang");
  langSelect.replaceChildren(...Object.entries(LANG_NAMES).map(([l, name]) => h("option", { value: l }, name)));
  langSelect.value = getLang();
  langSelect.onchange = () => {
    localStorage.setItem("afterhours.lang", langSelect.value);
    setLang(langSelect.value);
    showUser(session);
    route(session, settings.body);
  };
  window.addEventListener("hashchange", () => route(session, settings.body));
  startTicker(() => refresh?.());
  await route(session, settings.body);
  document.body.dataset.ready = "true";
}

main();
