// "Contacts outside business hours": the agent selector, the seed's columns,
// filters and paging, the N/A hint and the 24/7 explanation. The send
// button of each row carries the caller's quota for that customer.

import { call, errorMessage } from "./api.js";
import { h, toast } from "./ui.js";
import { t, localDateTime } from "./i18n.js";
import { sendButton } from "./quota.js";
import { openSend } from "./send.js";

const PAGE = 20;

export async function contactsView(view, session, params) {
  const state = {
    agent: params.get("agent") || session.agent,
    requestedCallback: params.get("requestedCallback") || "",
    messageSent: params.get("messageSent") || "",
    cursors: [null],
  };
  const agentSelect = h("select", { id: "agent", disabled: session.role === "agent" });
  const cb = h("select", { id: "requestedCallback" },
    [["", t("any")], ["yes", t("yes")], ["no", t("no")], ["pending", t("waiting")], ["n/a", t("na")]]
      .map(([v, l]) => h("option", { value: v, selected: v === state.requestedCallback }, l)));
  const sent = h("select", { id: "messageSent" },
    [["", t("any")], ["true", t("yes")], ["false", t("no")]]
      .map(([v, l]) => h("option", { value: v, selected: v === state.messageSent }, l)));
  const notice = h("div", { id: "notice" });
  const tbody = h("tbody", { id: "rows" });
  const prev = h("button", { type: "button", id: "first", onclick: () => { state.cursors = [null]; load(); } }, t("first"));
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
      h("label", {}, t("agent"), agentSelect),
      h("label", {}, t("callbackFilter"), cb),
      h("label", {}, t("sentFilter"), sent),
      h("button", { type: "button", onclick: () => { state.cursors = [null]; load(); } }, t("refresh"))),
    notice, table);

  const skeleton = () => tbody.replaceChildren(...Array.from({ length: 5 }, () =>
    h("tr.skeleton", {}, Array.from({ length: 6 }, () => h("td", {}, "…")))));

  const callbackPill = (v) => {
    const [cls, label] = { yes: ["yes", t("yes")], no: ["no", t("no")], pending: ["pending", t("waiting")], "n/a": ["", t("na")] }[v] || ["", v];
    return h(`span.pill${cls ? `.${cls}` : ""}`, {}, label);
  };
  const row = (item) => h("tr", { dataset: { id: item.id } },
    h("td", { "data-label": t("colDate") }, localDateTime(item.contactDate)),
    h("td", { "data-label": t("colName"), class: item.name ? "" : "no-name" }, item.name || t("noName")),
    h("td", { "data-label": t("colNumber") }, item.contact),
    h("td", { "data-label": t("colCallback") }, callbackPill(item.requestedCallback)),
    h("td", { "data-label": t("colSent") }, h(`span.pill${item.messageSent ? ".yes" : ""}`, {}, item.messageSent ? t("yes") : t("no"))),
    h("td", { "data-label": t("colAction") }, sendButton(item.quota, () => openSend({
      target: { recordId: item.id }, channel: item.channel,
      who: `${item.name || t("noName")} (${item.contact})`, onSent: () => load(false, true),
    }))));

  async function load(forward = false, stay = false) {
    const cursor = forward ? state.nextCursor : stay ? state.cursors[state.cursors.length - 1] : null;
    if (forward) state.cursors.push(cursor);
    if (!forward && !stay) state.cursors = [null];
    skeleton();
    const res = await call("GET", "/contacts", {
      query: { agentId: state.agent, requestedCallback: state.requestedCallback, messageSent: state.messageSent, limit: PAGE, cursor },
    });
    if (res.status !== 200) {
      tbody.replaceChildren(h("tr", {}, h("td.empty", { colSpan: 6 }, errorMessage(res))));
      toast(errorMessage(res), "error");
      next.disabled = true;
      return;
    }
    const { items, nextCursor, alwaysOpen } = res.body;
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

  const onFilter = () => {
    state.agent = agentSelect.value || session.agent;
    state.requestedCallback = cb.value;
    state.messageSent = sent.value;
    load();
  };
  [agentSelect, cb, sent].forEach((s) => s.addEventListener("change", onFilter));

  agentSelect.replaceChildren(h("option", { value: state.agent }, state.agent));
  load();
  const agents = await call("GET", "/agents", { query: { limit: 100 } });
  if (agents.status === 200) {
    const ids = agents.body.items.map((a) => a.agentId);
    if (!ids.includes(state.agent)) ids.unshift(state.agent);
    agentSelect.replaceChildren(...ids.map((id) => {
      const a = agents.body.items.find((x) => x.agentId === id);
      const label = a ? t("agentOption", { id, n: a.contacts, c: a.callbacksPending }) : id;
      return h("option", { value: id, selected: id === state.agent }, label);
    }));
  }
  return () => load(false, true);
}
