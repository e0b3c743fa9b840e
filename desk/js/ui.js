// Small DOM helpers: an element builder, toasts, and the modal dialog.

/** h("button.primary", {onclick}, "Send") → <button class="primary">. */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && k !== "list") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function toast(message, kind = "ok") {
  const el = h(`div.toast${kind === "error" ? ".error" : ""}`, { role: kind === "error" ? "alert" : "status" }, message);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), kind === "error" ? 9000 : 5000);
  return el;
}

/** Opens the modal with `content`; Escape or `close()` closes it and gives focus back. */
export function openModal(content) {
  const dialog = document.getElementById("modal");
  const opener = document.activeElement;
  dialog.replaceChildren(content);
  dialog.showModal();
  const first = dialog.querySelector("select, input, textarea, button");
  if (first) first.focus();
  const close = () => { if (dialog.open) dialog.close(); };
  dialog.addEventListener("close", () => { dialog.replaceChildren(); opener?.focus?.(); }, { once: true });
  return close;
}
