// River's queue: jobs by queue and state, refreshed every few seconds
// while the page is open.
import { get } from "../api.js";
import { h, clear, emptyState, fmtTime } from "../dom.js";
import { fmtAge, num } from "./common.js";

const EVERY = 3000;
const STATES = ["available", "running", "scheduled", "retryable", "pending", "completed", "cancelled", "discarded"];
// The final states are counted over the last minute only (River's table
// would be too long to count on every refresh).
const LABELS = { completed: "completed / min", cancelled: "cancelled / min", discarded: "discarded / min" };
// Counts that need an operator's eye when they are not zero.
const WATCH = { retryable: "warn", discarded: "bad", cancelled: "warn" };

export async function queuePage(el) {
  const stats = h("div", { class: "stats spaced-bottom", id: "queue-stats" });
  const table = h("div", { id: "queue-table" });
  const updated = h("span", { class: "muted small", id: "queue-updated" });
  clear(el,
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, "Queue"),
        h("p", { class: "sub" }, "River's jobs by queue and state; finished jobs over the last minute (the job of a delivery attempt is deleted with the attempt's record, so it is not counted as completed). Available jobs wait for a worker; a growing oldest wait means the workers fall behind.")),
      h("div", { class: "actions" }, h("span", { class: "live-dot", "aria-hidden": "true" }), updated)),
    stats,
    h("section", { class: "card list-card" }, table));
  let first = true;
  while (el.isConnected) {
    try {
      const q = await get("/queue");
      if (!el.isConnected) return;
      render(q, stats, table);
      updated.textContent = `Updated ${new Date(q.at).toLocaleTimeString()} · refreshes every ${EVERY / 1000} s`;
    } catch (err) {
      if (first) throw err;
      updated.textContent = `Could not refresh: ${err.message}`;
    }
    first = false;
    await new Promise((r) => setTimeout(r, EVERY));
  }
}

function render(q, stats, table) {
  const total = (s) => q.queues.reduce((n, x) => n + (x.counts[s] || 0), 0);
  const oldest = Math.max(0, ...q.queues.map((x) => x.oldest_available_age_seconds || 0));
  clear(stats,
    stat("Available", num(total("available"))),
    stat("Running", num(total("running"))),
    stat("Retryable", num(total("retryable")), total("retryable") ? "warn" : ""),
    stat("Oldest available", total("available") ? fmtAge(oldest) : "—"));
  if (q.queues.length === 0) {
    clear(table, emptyState("inbox", "No queues yet", "River has no queue registered and no job: start a worker (hookd serve --role worker)."));
    return;
  }
  clear(table, h("div", { class: "table-wrap" }, h("table", { class: "stack-sm data queue" },
    h("thead", {}, h("tr", {}, h("th", {}, "Queue"), STATES.map((s) => h("th", { class: "num" }, LABELS[s] || s)), h("th", { class: "num" }, "Oldest available"))),
    h("tbody", {}, q.queues.map((x) => h("tr", { dataset: { queue: x.name } },
      h("td", { "data-label": "Queue" }, h("strong", { class: "mono" }, x.name)),
      STATES.map((s) => {
        const n = x.counts[s] || 0;
        return h("td", { "data-label": LABELS[s] || s, class: `num ${n && WATCH[s] ? "hot-" + WATCH[s] : ""} ${n ? "" : "zero"}` }, num(n));
      }),
      h("td", { "data-label": "Oldest available", class: "num", title: x.oldest_available_at ? fmtTime(x.oldest_available_at) : null },
        x.oldest_available_age_seconds === null ? "—" : fmtAge(x.oldest_available_age_seconds))))))));
}

function stat(k, v, kind) {
  return h("div", { class: `stat ${kind || ""}` }, h("div", { class: "k" }, k), h("div", { class: "v" }, v));
}
