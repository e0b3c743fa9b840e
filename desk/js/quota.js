// The cap as the seed shows it: a send button that carries a warning icon
// when the caller's quota for that customer is used up, and a tooltip with
// the time remaining and the local time it frees up, kept current while the
// page is open.

import { h } from "./ui.js";
import { t, duration, localTime } from "./i18n.js";

/** Seconds until `availableAt` (from the API's ISO time with its offset). */
const secondsUntil = (iso) => (Date.parse(iso) - Date.now()) / 1000;

function tooltipText(quota) {
  return t("availableIn", { left: duration(secondsUntil(quota.availableAt)), at: localTime(quota.availableAt) });
}

/** The send button for a customer, given the caller's quota (null: no cap). */
export function sendButton(quota, onclick, label) {
  const capped = quota && quota.remaining === 0 && quota.availableAt;
  const id = `tip-${Math.random().toString(36).slice(2)}`;
  const button = h(`button.send${capped ? ".capped" : ""}`, {
    type: "button", onclick, "aria-describedby": capped ? id : null,
    title: null, dataset: capped ? { availableAt: quota.availableAt } : {},
  }, capped ? h("span.warn-icon", { "aria-label": t("capReached"), role: "img" }, "⚠") : null, label || t("send"));
  const wrap = h("span.send-wrap", {}, button);
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
