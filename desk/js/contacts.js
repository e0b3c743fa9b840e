// "Contacts outside business hours": the agent selector (by name, with a
// search), the seed's columns, filters, order and paging (all kept in the
// address, so a reload or a shared link shows the same list), what happened
// to each contact (who sent which template when, and whether WhatsApp
// delivered it), how long each stays, Mark as handled / Undo, and new
// contacts offered while the page is open.

import { call, errorMessage } from "./api.js";
import { h, openModal, toast } from "./ui.js";
import { t, localDateTime, longDuration } from "./i18n.js";
import { sendButton } from "./quota.js";
import { openSend } from "./send.js";

const PAGE = 20;
/** How often the first page is looked at again for new contacts, while the page is visible. */
export const NEW_CONTACTS_EVERY_MS = 30000;
const FILTERS = ["requestedCallback", "messageSent", "handled", "order"];

const select = (id, current, options) => h("select", { id },
  options.map(([v, l]) => h("option", { value: v, selected: v === current }, l)));

export async function contactsView(view, session, params) {
  const state = {
    agent: params.get("agent") || session.agent,
    ...Object.fromEntries(FILTERS.map((f) => [f, params.get(f) || ""])),
    cursors: [null],
    shown: new Set(),
    names: new Map([[session.agent, session.name || session.agent]]),
  };
  const nameOf = (id) => state.names.get(id) || id;
  const agentSelect = h("select", { id: "agent", disabled: session.role === "agent" });
  const agentSearch = h("input", {
    id: "agent-search", type: "search", placeholder: t("searchAgents"), "aria-label": t("searchAgents"),
    hidden: session.role === "agent", autocomplete: "off",
  });
  const filters = {
    requestedCallback: select("requestedCallback", state.requestedCallback,
      [["", t("any")], ["yes", t("yes")], ["no", t("no")], ["pending", t("waiting")], ["n/a", t("na")]]),
    messageSent: select("messageSent", state.messageSent, [["", t("any")], ["true", t("yes")], ["false", t("no")]]),
    handled: select("handled", state.handled, [["", t("any")], ["true", t("yes")], ["false", t("no")]]),
    order: select("order", state.order, [["", t("orderNewest")], ["oldest", t("orderOldest")]]),
  };
  const notice = h("div", { id: "notice" });
  const banner = h("div", { id: "new-contacts" });
  const tbody = h("tbody", { id: "rows" });
  const prev = h("button", { type: "button", id: "first", onclick: () => load() }, t("first"));
  const next = h("button", { type: "button", id: "next", onclick: () => load(true) }, t("next"));
  const table = h("div.card.table-wrap", {},
    h("table", { "aria-describedby": "title" },
      h("thead", {}, h("tr", {}, [t("colDate"), t("colName"), t("colNumber"), t("colCallback"), t("colSent"), t("colAction")]
        .map((c) => h("th", { scope: "col" }, c)))),
      tbody),
    h("div.pager", {}, prev, next));
  view.replaceChildren(
    h("h1", { id: "title" }, t("contactsTitle")),
    h("div.controls", {},
      h("label", {}, t("agent"), h("span.agent-pick", {}, agentSearch, agentSelect)),
      h("label", {}, t("callbackFilter"), filters.requestedCallback),
      h("label", {}, t("sentFilter"), filters.messageSent),
      h("label", {}, t("handledFilter"), filters.handled),
      h("label", {}, t("order"), filters.order),
      h("button", { type: "button", id: "refresh", onclick: () => load() }, t("refresh"))),
    notice, banner, table);

  const skeleton = () => tbody.replaceChildren(...Array.from({ length: 5 }, () =>
    h("tr.skeleton", {}, Array.from({ length: 6 }, () => h("td", {}, "…")))));

  const callbackPill = (v) => {
    const [cls, label] = { yes: ["yes", t("yes")], no: ["no", t("no")], pending: ["pending", t("waiting")], "n/a": ["", t("na")] }[v] || ["", v];
    return h(`span.pill${cls ? `.${cls}` : ""}`, {}, label);
  };

  /** "Yes" with who sent which template when and how WhatsApp delivered it; "Failed" with why. */
  const sentCell = (item) => {
    const d = item.delivery;
    const failed = d?.status === "failed";
    const pill = failed ? h("span.pill.no.delivery", { dataset: { status: "failed" } }, t("delivery").failed)
      : item.messageSent ? h("span.pill.yes", {}, t("yes"))
        : d?.status === "unknown" ? h("span.pill.pending.delivery", { dataset: { status: "unknown" } }, t("delivery").unknown)
          : h("span.pill", {}, t("no"));
    const details = [];
    if (item.sentAt || (failed && item.sentBy)) {
      const by = t("sentBy", { who: nameOf(item.sentBy), at: localDateTime(item.sentAt || d.at) });
      details.push(h("span.detail.sent-by", {}, [item.template?.name, by].filter(Boolean).join(" · ")));
    }
    if (d && !failed && d.status !== "unknown") {
      details.push(h("span.detail.delivery", { dataset: { status: d.status } }, `${t("delivery")[d.status] || d.status} · ${localDateTime(d.at)}`));
    }
    if (failed && d.error) details.push(h("span.detail.failure", {}, d.error.message));
    return h("td", { "data-label": t("colSent") }, h("div.stack", {}, pill, ...details));
  };

  const markHandled = (item) => {
    const note = h("textarea", { id: "handled-note", rows: 3, maxLength: 500 });
    const form = h("form", {
      method: "dialog",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = note.value.trim() ? { note: note.value.trim() } : undefined;
        const r = await call("POST", `/contacts/${encodeURIComponent(item.id)}/handled`, { body });
        if (r.status !== 200) { toast(errorMessage(r), "error"); return; }
        close();
        toast(t("handledDone"));
        replaceRow(r.body);
      },
    },
    h("h2.modal-body", { id: "modal-title", style: "margin:0;padding-bottom:0;font-size:1.1rem" },
      t("handledTitle", { who: `${item.name || t("noName")} (${item.contact})` })),
    h("div.modal-body", {}, h("label", {}, t("note"), note)),
    h("div.modal-actions", {},
      h("button", { type: "button", onclick: () => close() }, t("cancel")),
      h("button.primary", { type: "submit", id: "confirm-handled" }, t("markHandled"))));
    const close = openModal(form);
  };
  const undoHandled = async (item) => {
    const r = await call("DELETE", `/contacts/${encodeURIComponent(item.id)}/handled`);
    if (r.status !== 200) { toast(errorMessage(r), "error"); return; }
    toast(t("undone"));
    replaceRow(r.body);
  };

  const actionCell = (item) => {
    const send = sendButton(item.quota, () => openSend({
      target: { recordId: item.id }, channel: item.channel,
      who: `${item.name || t("noName")} (${item.contact})`, onSent: () => load(false, true),
    }));
    const handled = item.handled
      ? h("div.handled", {},
        h("span.detail", {}, t("handledBy", { who: nameOf(item.handled.by), at: localDateTime(item.handled.at) })),
        item.handled.note ? h("span.detail.note", {}, item.handled.note) : null,
        h("button.link.undo", { type: "button", onclick: () => undoHandled(item) }, t("undo")))
      : h("button.link.mark-handled", { type: "button", onclick: () => markHandled(item) }, t("markHandled"));
    return h("td", { "data-label": t("colAction") }, h("div.stack", {}, send, handled));
  };

  const row = (item) => h(`tr${item.handled ? ".is-handled" : ""}`, { dataset: { id: item.id } },
    h("td", { "data-label": t("colDate") }, h("div.stack", {}, localDateTime(item.contactDate),
      h("span.detail.leaves", {}, t("leavesIn", { left: longDuration((Date.parse(item.expiresAt) - Date.now()) / 1000) })))),
    h("td", { "data-label": t("colName"), class: item.name ? "" : "no-name" }, item.name || t("noName")),
    h("td", { "data-label": t("colNumber") }, item.contact),
    h("td", { "data-label": t("colCallback") }, callbackPill(item.requestedCallback)),
    sentCell(item),
    actionCell(item));

  const replaceRow = (item) => {
    const old = [...tbody.children].find((tr) => tr.dataset.id === item.id);
    if (old) old.replaceWith(row(item));
  };

  const query = (cursor, limit = PAGE) => ({
    agentId: state.agent, ...Object.fromEntries(FILTERS.map((f) => [f, state[f]])), limit, cursor,
  });

  /** The address says which list this is, so a reload shows it again. */
  const remember = () => {
    const p = new URLSearchParams();
    if (state.agent !== session.agent) p.set("agent", state.agent);
    for (const f of FILTERS) if (state[f]) p.set(f, state[f]);
    const hash = `#/contacts${p.toString() ? `?${p}` : ""}`;
    if (window.location.hash !== hash) window.history.replaceState(null, "", hash);
  };

  async function load(forward = false, stay = false) {
    const cursor = forward ? state.nextCursor : stay ? state.cursors[state.cursors.length - 1] : null;
    if (forward) state.cursors.push(cursor);
    if (!forward && !stay) state.cursors = [null];
    remember();
    banner.replaceChildren();
    skeleton();
    const res = await call("GET", "/contacts", { query: query(cursor) });
    if (res.status !== 200) {
      tbody.replaceChildren(h("tr", {}, h("td.empty", { colSpan: 6 }, errorMessage(res))));
      toast(errorMessage(res), "error");
      next.disabled = true;
      return;
    }
    const { items, nextCursor, alwaysOpen } = res.body;
    if (state.cursors.length === 1) state.shown = new Set(items.map((i) => i.id));
    state.nextCursor = nextCursor;
    next.disabled = !nextCursor;
    prev.disabled = state.cursors.length <= 1;
    const na = items.filter((i) => i.requestedCallback === "n/a").length;
    notice.replaceChildren(...[
      alwaysOpen ? h("p.hint", { id: "always-open" }, t("alwaysOpen")) : null,
      !alwaysOpen && items.length >= 3 && na * 2 >= items.length ? h("p.hint", { id: "na-hint" }, t("naHint")) : null,
    ].filter(Boolean));
    tbody.replaceChildren(...(items.length ? items.map(row)
      : [h("tr", {}, h("td.empty", { colSpan: 6 }, alwaysOpen ? "" : t("empty")))]));
  }

  /** Looks at the first page again; offers what is new since it was shown. */
  async function lookForNew() {
    if (document.visibilityState !== "visible" || !view.contains(tbody)) return;
    const res = await call("GET", "/contacts", { query: query(null, 50) });
    if (res.status !== 200) return;
    const fresh = res.body.items.filter((i) => !state.shown.has(i.id)).length;
    banner.replaceChildren(fresh ? h("button.banner", { type: "button", id: "show-new", onclick: () => load() },
      fresh === 1 ? t("newContact") : t("newContacts", { n: fresh })) : "");
  }

  const onFilter = () => {
    state.agent = agentSelect.value || session.agent;
    for (const f of FILTERS) state[f] = filters[f].value;
    load();
  };
  [agentSelect, ...Object.values(filters)].forEach((s) => s.addEventListener("change", onFilter));

  /** The selector's options: a page of agents (by name, with their counts), found by `q`. */
  async function agentOptions(q = "", cursor = null, append = false) {
    const res = await call("GET", "/agents", { query: { q, limit: 50, cursor } });
    if (res.status !== 200) return;
    for (const a of res.body.items) state.names.set(a.agentId, a.displayName);
    const options = res.body.items.map((a) => h("option", { value: a.agentId, selected: a.agentId === state.agent },
      t("agentOption", { name: a.displayName, n: a.contacts, c: a.callbacksPending })));
    const kept = append ? [...agentSelect.options].filter((o) => o.value !== "__more") : [];
    if (!append && !res.body.items.some((a) => a.agentId === state.agent)) {
      kept.push(h("option", { value: state.agent, selected: true }, nameOf(state.agent)));
    }
    const more = res.body.nextCursor
      ? h("option", { value: "__more", dataset: { cursor: res.body.nextCursor } }, t("moreAgents")) : null;
    agentSelect.replaceChildren(...kept, ...options, ...(more ? [more] : []));
  }
  agentSelect.addEventListener("change", (ev) => {
    const o = agentSelect.selectedOptions[0];
    if (o?.value !== "__more") return;
    ev.stopImmediatePropagation();
    agentOptions(agentSearch.value.trim(), o.dataset.cursor, true).then(() => { agentSelect.value = state.agent; });
  }, { capture: true });
  let searchTimer = null;
  agentSearch.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => agentOptions(agentSearch.value.trim()), 250);
  });

  agentSelect.replaceChildren(h("option", { value: state.agent }, nameOf(state.agent)));
  await agentOptions();
  load();
  const poll = setInterval(() => {
    if (!view.contains(tbody)) { clearInterval(poll); return; }
    lookForNew();
  }, Number(localStorage.getItem("afterhours.newContactsEveryMs")) || NEW_CONTACTS_EVERY_MS);
  // Once this list is gone (another screen), its listener goes too.
  const onVisible = () => {
    if (!view.contains(tbody)) { document.removeEventListener("visibilitychange", onVisible); return; }
    if (document.visibilityState === "visible") lookForNew();
  };
  document.addEventListener("visibilitychange", onVisible);
  return () => load(false, true);
}
