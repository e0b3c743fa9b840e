// The desk page: reads config.json, signs in, and shows the screen the hash
// names (#/contacts, #/general, #/settings) in the tenant's language.

import { configure, call } from "./api.js";
import { session as currentSession, signIn, signOut } from "./auth.js";
import { setLang, getLang, t, LANGS } from "./i18n.js";
import { h } from "./ui.js";
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

async function main() {
  const config = await loadConfig();
  const stored = localStorage.getItem("afterhours.lang");
  setLang(LANGS.includes(stored) ? stored : (navigator.language?.startsWith("es") ? "es_ES" : navigator.language?.startsWith("en") ? "en_US" : "pt_BR"));
  let session = currentSession();
  if (!session) session = await signIn(config, view);
  configure(config.apiUrl, session.token);
  document.getElementById("user").textContent = `${session.agent} · ${session.role}`;
  const out = document.getElementById("signout");
  out.hidden = false;
  out.onclick = () => signOut(config);
  // The tenant's language by default, unless the person chose one here.
  const settings = await call("GET", "/settings");
  if (!stored && settings.status === 200 && LANGS.includes(settings.body.language)) setLang(settings.body.language);
  const langSelect = document.getElementById("lang");
  langSelect.value = getLang();
  langSelect.onchange = () => {
    localStorage.setItem("afterhours.lang", langSelect.value);
    setLang(langSelect.value);
    route(session, settings.body);
  };
  window.addEventListener("hashchange", () => route(session, settings.body));
  startTicker(() => refresh?.());
  await route(session, settings.body);
  document.body.dataset.ready = "true";
}

main();
