// DOM helpers. Everything that comes from the API reaches the page as text
// (textContent, attribute values): never as HTML.

// h builds an element: h("a", {href: "#/x", class: "btn"}, "text", child).
// Attributes starting with "on" are event listeners; null/false attributes
// are left out; children may be strings, nodes, arrays, null or false.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === "style") {
      el.style.cssText = v; // through the CSSOM: the CSP forbids style attributes
    } else if (k === "dataset") {
      Object.assign(el.dataset, v);
    } else if (k === "value" && "value" in el) {
      el.value = v;
    } else if (k === "checked" || k === "selected" || k === "disabled" || k === "open" || k === "hidden") {
      el[k] = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// clear empties el and fills it with children.
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// fmtTime shows an RFC 3339 time in the browser's zone and language.
export function fmtTime(s) {
  if (!s) return "—";
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

// ago says how long ago s was, for glancing ("5 min ago").
export function ago(s) {
  if (!s) return "never";
  const secs = Math.round((Date.now() - new Date(s).getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const abs = Math.abs(secs);
  if (abs < 45) return rtf.format(-secs, "second");
  if (abs < 2700) return rtf.format(-Math.round(secs / 60), "minute");
  if (abs < 64800) return rtf.format(-Math.round(secs / 3600), "hour");
  return rtf.format(-Math.round(secs / 86400), "day");
}

// time is a <time> element: the local time, with the exact time on hover.
export function time(s, relative) {
  if (!s) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: s, title: fmtTime(s) }, relative ? ago(s) : fmtTime(s));
}

const reasons = {
  200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 302: "Found",
  307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
  404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
  413: "Payload Too Large", 422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error",
  502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
};

// codeText is "500 Internal Server Error".
export function codeText(code) {
  return reasons[code] ? `${code} ${reasons[code]}` : String(code);
}

// pill is a coloured status label; kind is ok, bad, warn or "" (neutral).
export function pill(text, kind, title) {
  return h("span", { class: `pill ${kind || ""}`, title }, text);
}

// codePill shows an HTTP status code, or an error class when there was no answer.
export function codePill(code, errorClass) {
  if (code) return pill(codeText(code), code >= 200 && code < 300 ? "ok" : "bad");
  if (errorClass) return pill(errorClass, "bad", "no HTTP answer");
  return pill("no attempt yet", "");
}

const statusKinds = { succeeded: "ok", failed: "bad", pending: "warn" };

// statusPill shows a delivery status. A parked one waits for its disabled
// endpoint to be enabled.
export function statusPill(status) {
  return pill(status, statusKinds[status] || "", status === "parked" ? "Kept while the endpoint is disabled; sent when it is enabled" : undefined);
}

// pretty formats JSON text for reading; other text is returned as it is.
export function pretty(text) {
  if (typeof text !== "string") return JSON.stringify(text, null, 2);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

// codeBlock is a dark <pre> with a copy button.
export function codeBlock(text, opts = {}) {
  const pre = h("pre", { class: "code", tabindex: "0" }, text);
  return h("div", { class: "code-wrap" }, pre, opts.copy === false ? null : copyButton(() => pre.textContent, "Copy"));
}

// copyButton copies what get() returns.
export function copyButton(get, label = "Copy") {
  const btn = h("button", { type: "button", class: "btn btn-sm copy" }, label);
  btn.addEventListener("click", async () => {
    const ok = await copyText(get());
    btn.textContent = ok ? "Copied" : "Press Ctrl+C";
    setTimeout(() => { btn.textContent = label; }, 1500);
  });
  return btn;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = h("textarea", { style: "position:fixed;left:-9999px", readonly: true });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    ta.remove();
    return ok;
  }
}

// toast shows a short message in the corner.
export function toast(text, kind) {
  const el = h("div", { class: `toast ${kind || ""}` }, text);
  const box = document.getElementById("toasts");
  while (box.children.length >= 3) box.firstElementChild.remove();
  box.appendChild(el);
  setTimeout(() => el.remove(), kind === "bad" ? 7000 : 4000);
}

// confirmDialog asks a question in a modal. With opts.input it asks for a
// line of text too and resolves to it (or null when cancelled); otherwise
// it resolves to true or false. With opts.alt (a label) it offers a second
// answer besides confirm, and resolves to "ok", "alt" or false.
export function confirmDialog({ title, body, confirm = "Confirm", danger = false, input = null, alt = null }) {
  return new Promise((resolve) => {
    const field = input ? h("input", { type: "text", placeholder: input.placeholder || "", "aria-label": input.label }) : null;
    const ok = h("button", { type: "submit", class: `btn ${danger ? "btn-danger solid" : "btn-primary"}`, value: "ok" }, confirm);
    const other = alt ? h("button", { type: "submit", class: "btn", value: "alt" }, alt) : null;
    const dlg = h("dialog", { "aria-labelledby": "dlg-title", class: alt ? "wide" : null },
      h("form", { method: "dialog" },
        h("h2", { id: "dlg-title" }, title),
        body ? h("p", {}, body) : null,
        input ? h("div", { class: "field" }, h("label", {}, input.label, field)) : null,
        // The confirming button comes first so that Enter in the input
        // confirms; the CSS shows it last.
        h("div", { class: "form-actions" },
          ok,
          other,
          h("button", { type: "submit", class: "btn", value: "cancel", formnovalidate: true }, "Cancel"))));
    document.body.appendChild(dlg);
    dlg.addEventListener("close", () => {
      const yes = dlg.returnValue === "ok";
      dlg.remove();
      if (input) resolve(yes ? field.value.trim() : null);
      else if (alt) resolve(yes ? "ok" : dlg.returnValue === "alt" ? "alt" : false);
      else resolve(yes);
    });
    dlg.showModal();
    (field || ok).focus();
  });
}

// showErrors puts an API error next to the form fields it names
// (problem+json errors[].field, matched to [data-field] wrappers) and the
// rest at the top of the form.
export function showErrors(form, err) {
  clearErrors(form);
  const general = [];
  const fieldErrors = (err && err.problem && err.problem.errors) || [];
  for (const fe of fieldErrors) {
    const name = String(fe.field || "").split("/")[0];
    const wrap = name && form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (!wrap) {
      general.push(fe.field ? `${fe.field}: ${fe.message}` : fe.message);
      continue;
    }
    wrap.appendChild(h("p", { class: "field-error", role: "alert" }, fe.message));
    for (const input of wrap.querySelectorAll("input, select, textarea")) input.setAttribute("aria-invalid", "true");
  }
  if (fieldErrors.length === 0) general.push(err && err.message ? err.message : String(err));
  if (general.length) {
    form.prepend(h("div", { class: "form-error", role: "alert" }, general.join(" · ")));
  }
  const first = form.querySelector("[aria-invalid=true], .form-error");
  if (first) {
    first.scrollIntoView({ block: "center" });
    if (first.focus) first.focus({ preventScroll: true });
  }
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error, .form-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

// busy disables a button while fn runs.
export async function busy(btn, fn) {
  const label = btn.textContent;
  btn.disabled = true;
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.textContent = label;
  }
}

// sleep waits ms milliseconds.
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Icons, drawn with strokes on a 24×24 grid.
const icons = {
  plug: ["M9 3v5", "M15 3v5", "M7 8h10v3a5 5 0 0 1-10 0z", "M12 16v5"],
  inbox: ["M3 13l3-8h12l3 8v6H3z", "M3 13h5l1 3h6l1-3h5"],
  search: ["M11 4a7 7 0 1 0 0 14a7 7 0 1 0 0-14z", "M20 20l-4-4"],
  lock: ["M6 11h12v10H6z", "M8 11V8a4 4 0 0 1 8 0v3", "M12 15v2"],
  book: ["M4 5a2 2 0 0 1 2-2h13v15H6a2 2 0 0 0-2 2z", "M4 20a2 2 0 0 0 2 1h13v-3"],
  alert: ["M12 3l10 18H2z", "M12 10v5", "M12 18v.5"],
  pause: ["M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z", "M10 9v6", "M14 9v6"],
  compass: ["M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z", "M15.5 8.5l-2 5-5 2 2-5z"],
};

// icon is an inline SVG icon.
export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", "stroke-width": "1.8",
    "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true" })) svg.setAttribute(k, v);
  for (const d of icons[name] || icons.alert) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
  }
  return svg;
}

// emptyState is the friendly box shown instead of an empty list; iconName
// is one of the icons above.
export function emptyState(iconName, title, text, action) {
  return h("div", { class: "card empty" },
    h("div", { class: "empty-icon" }, icon(iconName)),
    h("h2", {}, title),
    text ? h("p", {}, text) : null,
    action || null);
}

// shortID shows the start of a UUID.
export function shortID(id) {
  return String(id).slice(0, 8) + "…";
}
