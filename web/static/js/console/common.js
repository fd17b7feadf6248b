// Helpers shared by the console's pages.
import { h } from "../dom.js";

// fmtAge says how long a number of seconds is, briefly ("42 s", "3 min").
export function fmtAge(secs) {
  if (secs === null || secs === undefined) return "—";
  if (secs < 60) return `${Math.round(secs)} s`;
  if (secs < 3600) return `${Math.round(secs / 60)} min`;
  if (secs < 172800) return `${Math.round(secs / 3600)} h`;
  return `${Math.round(secs / 86400)} days`;
}

// num formats a count in the browser's language.
export function num(n) {
  return new Intl.NumberFormat().format(n || 0);
}

// filterSummary describes a replay's filter in words.
export function filterSummary(f) {
  if (!f || typeof f !== "object") return "—";
  const parts = [];
  if (f.tenant_id) parts.push(`tenant ${f.tenant_id}`);
  else parts.push("every tenant");
  if (f.endpoint_id) parts.push(`endpoint ${String(f.endpoint_id).slice(0, 8)}…`);
  if (f.message_id) parts.push(`message ${String(f.message_id).slice(0, 8)}…`);
  if (f.event_type) parts.push(f.event_type);
  if (f.status) parts.push(f.status);
  if (f.since) parts.push("since " + new Date(f.since).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }));
  if (f.until) parts.push("until " + new Date(f.until).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }));
  return parts.join(" · ");
}

// field is a labelled form field.
export function field(id, label, input, hint) {
  input.id = id;
  return h("div", { class: "field", "data-field": input.name || id },
    h("label", { for: id }, label), input, hint ? h("p", { class: "hint" }, hint) : null);
}

// isoOrEmpty turns a datetime-local value (the browser's zone) into RFC 3339.
export function isoOrEmpty(v) {
  return v ? new Date(v).toISOString() : "";
}
