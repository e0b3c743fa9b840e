// The cap as the seed shows it: a send button that carries a warning icon
// when the caller's quota for that customer is used up, and a tooltip with
// the time remaining and the local time it frees up (with the day when that
// is not today), kept current while the page is open. A capped button
// refuses at the first click or tap: the toast says why and when, and the
// tooltip opens (a touch screen has no hover), before any form is filled.

import { h, toast } from "./ui.js";
import { t, duration, whenLocal } from "./i18n.js";

/** Seconds until `availableAt` (from the API's ISO time with its offset). */
const secondsUntil = (iso) => (Date.parse(iso) - Date.now()) / 1000;

function tooltipText(quota) {
  return t("availableIn", { left: duration(secondsUntil(quota.availableAt)), at: whenLocal(quota.availableAt) });
}

/** The cap's refusal, as the API words it (429) in the same language and format. */
export function capMessage(quota) {
  return t("capToast", {
    used: quota.used, limit: quota.limit, when: whenLocal(quota.availableAt),
    left: duration(secondsUntil(quota.availableAt)),
  });
}

const isCapped = (quota) => !!(quota && quota.remaining === 0 && quota.availableAt && secondsUntil(quota.availableAt) > 0);

/** The send button for a customer, given the caller's quota (null: no cap). */
export function sendButton(quota, onclick, label) {
  const capped = isCapped(quota);
  const id = `tip-${Math.random().toString(36).slice(2)}`;
  const wrap = h("span.send-wrap", {});
  const button = h(`button.send${capped ? ".capped" : ""}`, {
    type: "button", "aria-describedby": capped ? id : null,
    dataset: capped ? { availableAt: quota.availableAt } : {},
    onclick: (ev) => {
      if (!isCapped(quota)) { onclick(ev); return; }
      wrap.classList.add("show-tip");
      toast(capMessage(quota), "error");
    },
    onblur: () => wrap.classList.remove("show-tip"),
  }, capped ? h("span.warn-icon", { "aria-label": t("capReached"), role: "img" }, "⚠") : null, label || t("send"));
  wrap.append(button);
  if (capped) {
    wrap.append(h("span.tooltip", { id, role: "tooltip", dataset: { availableAt: quota.availableAt } }, tooltipText(quota)));
  }
  return wrap;
}

/** Keeps every tooltip's remaining time current; `onFreed` when one frees up. */
export function startTicker(onFreed) {
  return setInterval(() => {
    let freed = false;
    document.querySelectorAll(".tooltip[data-available-at]").forEach((tip) => {
      const at = tip.dataset.availableAt;
      if (secondsUntil(at) <= 0) freed = true;
      else tip.textContent = tooltipText({ availableAt: at });
    });
    if (freed) onFreed();
  }, 15000);
}
