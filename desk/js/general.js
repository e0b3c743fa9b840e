// Seed 2's general active-message screen: pick a channel, type a number,
// see the caller's quota for that customer (the same icon and tooltip), send
// with the same modal.

import { call, errorMessage } from "./api.js";
import { h, toast } from "./ui.js";
import { t } from "./i18n.js";
import { sendButton } from "./quota.js";
import { openSend } from "./send.js";

export async function generalView(view, session, settings) {
  const channels = settings?.channels || [];
  const channel = h("select", { id: "channel" },
    channels.map((c) => h("option", { value: c.phoneNumberId }, `${c.displayPhoneNumber} (${c.phoneNumberId})`)));
  const number = h("input", { id: "number", type: "tel", inputMode: "tel", autocomplete: "off", placeholder: "+55 11 99999-0000" });
  const result = h("div", { id: "quota", style: "min-height:3.5em" });
  const check = async (ev) => {
    ev?.preventDefault();
    if (!number.value.trim()) { number.focus(); return; }
    const res = await call("GET", "/quota", { query: { contact: number.value.trim(), channel: channel.value } });
    if (res.status !== 200) { result.replaceChildren(); toast(errorMessage(res), "error"); return; }
    const quota = res.body.enabled ? res.body : null;
    result.replaceChildren(h("p", {}, quota ? t("quotaLeft", { n: quota.remaining, limit: quota.limit }) : t("capOff")),
      sendButton(quota, () => openSend({
        target: { channel: channel.value, to: number.value.trim() }, channel: channel.value,
        who: number.value.trim(), onSent: () => check(),
      })));
  };
  view.replaceChildren(
    h("h1", {}, t("generalTitle")),
    h("form.card.controls", { onsubmit: check, noValidate: true },
      h("label", {}, t("channel"), channel),
      h("label", {}, t("number"), number),
      h("button.primary", { type: "submit", id: "check" }, t("check"))),
    result);
  return check;
}
