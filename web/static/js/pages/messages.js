// The delivery log: messages sent to the tenant with filters, one message
// with its payload, deliveries and every attempt, resend and recover.
import { get, post, t, all, query, mapLimit, canChange, ApiError } from "../api.js";
import {
  h, clear, time, codePill, statusPill, pill, pretty, codeBlock, emptyState, showErrors, clearErrors,
  busy, toast, sleep, shortID,
} from "../dom.js";

const PAGE = 25;

export async function messagesPage(el, _params, q) {
  const f = {
    endpoint_id: q.get("endpoint_id") || "",
    event_type: q.get("event_type") || "",
    status: q.get("status") || "",
    since: q.get("since") || "",
  };
  const [endpoints, types, first] = await Promise.all([
    all(t("/endpoints")),
    all("/event-types?include_archived=true"),
    get(t("/messages" + query({ ...f, limit: PAGE }))),
  ]);

  const filters = filterForm(f, endpoints, types);
  const rows = h("div", { class: "rows", id: "log-rows" });
  const card = h("div", { class: "card list-card" }, rows);
  const endpoint = endpoints.find((e) => e.id === f.endpoint_id);

  clear(el,
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, "Delivery log"),
        h("p", { class: "sub" }, "Every message sent to you, how your endpoints answered, and a way to send it again."))),
    filters,
    endpoint && canChange() ? h("div", { class: "card" },
      h("h2", {}, "Recover failed deliveries"),
      h("p", { class: "muted small" }, "Send again every message whose delivery to ", h("span", { class: "mono" }, endpoint.url), " failed since a time."),
      recoverForm(endpoint.id)) : null,
    first.data.length === 0
      ? emptyState("inbox", "No messages here", anyFilter(f)
        ? "Nothing matches these filters. Widen them to see more."
        : "Nothing was sent to you yet. Send a test event from an endpoint's page to see one here.")
      : card);
  if (first.data.length === 0) return;
  rows.appendChild(h("div", { class: "row log-row rows-head", "aria-hidden": "true" },
    h("span", {}, "Sent"), h("span", {}, "Event"), h("span", {}, "Status"), h("span", {}, "")));
  await addRows(rows, card, first, f);
}

function anyFilter(f) {
  return Object.values(f).some(Boolean);
}

function filterForm(f, endpoints, types) {
  const endpoint = h("select", { id: "f-endpoint", name: "endpoint_id" },
    h("option", { value: "" }, "All endpoints"),
    endpoints.map((e) => h("option", { value: e.id }, e.url)));
  endpoint.value = f.endpoint_id;
  const type = h("select", { id: "f-type", name: "event_type" },
    h("option", { value: "" }, "All event types"),
    types.map((et) => h("option", { value: et.name }, et.name)));
  type.value = f.event_type;
  const status = h("select", { id: "f-status", name: "status" },
    h("option", { value: "" }, "Any status"),
    [["pending", "Pending"], ["succeeded", "Succeeded"], ["failed", "Failed"], ["parked", "Parked (endpoint disabled)"]]
      .map(([v, l]) => h("option", { value: v }, l)));
  status.value = f.status;
  const since = h("input", { type: "datetime-local", id: "f-since", name: "since", value: f.since ? toLocalInput(new Date(f.since)) : "" });
  const form = h("form", { class: "card filters", role: "search" },
    h("div", { class: "field" }, h("label", { for: "f-endpoint" }, "Endpoint"), endpoint),
    h("div", { class: "field" }, h("label", { for: "f-type" }, "Event type"), type),
    h("div", { class: "field" }, h("label", { for: "f-status" }, "Delivery status"), status),
    h("div", { class: "field" }, h("label", { for: "f-since" }, "Since"), since),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Filter"),
      anyFilter(f) ? h("a", { class: "btn btn-ghost", href: "#/messages" }, "Clear") : null));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = {
      endpoint_id: endpoint.value,
      event_type: type.value,
      status: status.value,
      since: since.value ? new Date(since.value).toISOString() : "",
    };
    location.hash = "#/messages" + query(next);
  });
  return form;
}

async function addRows(rows, card, page, f) {
  const added = page.data.map((m) => {
    const status = h("div", {}, h("span", { class: "muted small" }, "…"));
    rows.appendChild(h("a", { class: "row log-row", href: `#/messages/${m.id}`, dataset: { message: m.id } },
      h("div", {}, time(m.created_at)),
      h("div", { class: "cell-main" }, h("code", {}, m.event_type),
        m.expunged ? h("span", { class: "muted small" }, " · content removed") : null, h("div", { class: "desc mono" }, m.id)),
      h("div", {}, h("span", { class: "cell-label" }, "Status"), status),
      h("div", { class: "small" }, "View →")));
    return { m, status };
  });
  const old = card.querySelector(".more");
  if (old) old.remove();
  if (page.next_cursor) {
    const btn = h("button", { type: "button", class: "btn" }, "Load more");
    btn.addEventListener("click", () => busy(btn, async () => {
      const next = await get(t("/messages" + query({ ...f, limit: PAGE, cursor: page.next_cursor })));
      await addRows(rows, card, next, f);
    }));
    card.appendChild(h("div", { class: "more" }, btn));
  }
  // The list answers messages only; each row's delivery status comes from
  // the message itself.
  await mapLimit(added, 6, async ({ m, status }) => {
    try {
      const full = await get(t(`/messages/${m.id}`));
      clear(status, summary(full.deliveries, f.endpoint_id));
    } catch {
      clear(status, "—");
    }
  });
}

// summary is one status for a message's deliveries (to one endpoint when
// the log is filtered by it).
function summary(deliveries, endpointID) {
  const ds = endpointID ? deliveries.filter((d) => d.endpoint_id === endpointID) : deliveries;
  if (ds.length === 0) return h("span", { class: "muted small" }, "no endpoint matched");
  const worst = ["failed", "pending", "parked"].find((st) => ds.some((d) => d.status === st)) || "succeeded";
  const codes = ds.filter((d) => d.last_status_code).map((d) => d.last_status_code);
  return h("span", {}, statusPill(worst),
    ds.length > 1 ? h("span", { class: "muted small" }, ` ${ds.length} endpoints`) : codes.length ? h("span", { class: "muted small" }, ` ${codes[0]}`) : null);
}

// messagePage shows one message, its deliveries and attempts, and keeps
// them fresh while a delivery is pending.
export async function messagePage(el, id) {
  const path = t(`/messages/${encodeURIComponent(id)}`);
  let [m, attempts] = await Promise.all([get(path), all(path + "/attempts")]);
  const urls = new Map();
  await mapLimit(m.deliveries, 6, async (d) => {
    try {
      urls.set(d.endpoint_id, (await get(t(`/endpoints/${d.endpoint_id}`))).url);
    } catch {
      urls.set(d.endpoint_id, null);
    }
  });

  const deliveriesBody = h("div", {});
  const attemptsBody = h("div", { id: "attempts" });
  let watchUntil = 0; // poll at least until then (after a resend)
  let shown = "";
  const render = () => {
    const key = JSON.stringify([m.deliveries, attempts.map((a) => a.id)]);
    if (key === shown) return;
    shown = key;
    clear(deliveriesBody, deliveriesTable(m, urls, resend));
    clear(attemptsBody, attempts.length === 0
      ? h("p", { class: "muted" }, "No attempt yet.")
      : attempts.map((a, i) => attemptView(a, urls, i === 0)));
  };
  const resend = async (btn, endpointID) => {
    await busy(btn, async () => {
      try {
        const r = await post(path + "/resend", endpointID ? { endpoint_id: endpointID } : {});
        toast(r.enqueued === 1 ? "Sending it again." : `Sending it again to ${r.enqueued} endpoints.`);
      } catch (err) {
        toast(err.message, "bad");
        return;
      }
      watchUntil = Date.now() + 30000;
      poll();
    });
  };
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      for (let i = 0; i < 600 && el.isConnected; i++) {
        const pending = m.deliveries.some((d) => d.status === "pending");
        if (!pending && Date.now() > watchUntil) break;
        await sleep(700);
        try {
          [m, attempts] = await Promise.all([get(path), all(path + "/attempts")]);
        } catch {
          continue;
        }
        if (!el.isConnected) break;
        render();
        if (attempts.length && Date.now() < watchUntil && !m.deliveries.some((d) => d.status === "pending")) {
          watchUntil = 0; // the re-send has its answer
        }
      }
    } finally {
      polling = false;
    }
  };

  const resendAll = h("button", { type: "button", class: "btn", id: "resend-all" }, "Resend to all");
  resendAll.addEventListener("click", () => resend(resendAll, null));
  clear(el,
    h("div", { class: "page-head" },
      h("div", { class: "cell-main" },
        h("div", { class: "crumbs" }, h("a", { href: "#/messages" }, "Delivery log"), " / ", shortID(m.id)),
        h("h1", {}, h("code", {}, m.event_type)),
        h("p", { class: "sub" }, "Sent ", time(m.created_at), " · id ", h("span", { class: "mono" }, m.id))),
      m.deliveries.length && canChange() && !m.expunged ? h("div", { class: "actions" }, resendAll) : null),
    h("section", { class: "card" }, h("h2", {}, "Deliveries"), deliveriesBody),
    h("div", { class: "grid2" },
      h("section", { class: "card" },
        h("h2", {}, "Payload", h("span", { class: "muted small", id: "message-version" }, ` · version ${m.version || 1}`)),
        m.expunged
          ? h("p", { class: "muted", id: "content-removed" }, "Content removed ", time(m.expunged_at),
            ": the payload and the attempts' response bodies were erased; what was sent when stays.")
          : codeBlock(pretty(m.payload)),
        m.payloads ? h("p", { class: "hint" }, `Published in versions ${Object.keys(m.payloads).join(", ")}: `
          + "each endpoint receives the one it pins, the others this one.") : null,
        m.channels.length ? h("p", { class: "hint" }, "Channels: ", m.channels.join(", ")) : null,
        h("p", { class: "hint" }, "Your endpoint receives the exact bytes that were published; this view is formatted.")),
      h("section", { class: "card" }, h("h2", {}, "Attempts"), attemptsBody)));
  render();
  poll();
}

function deliveriesTable(m, urls, resend) {
  if (m.deliveries.length === 0) {
    return h("p", { class: "muted" }, "No endpoint matched this message, so it was not sent anywhere.");
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "stack-sm" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Endpoint"), h("th", {}, "Status"), h("th", {}, "Attempts"), h("th", {}, "Last answer"),
      h("th", {}, "Next attempt"), h("th", {}, ""))),
    h("tbody", {}, m.deliveries.map((d) => {
      const btn = h("button", { type: "button", class: "btn btn-sm", dataset: { resend: d.endpoint_id } }, "Resend");
      btn.addEventListener("click", () => resend(btn, d.endpoint_id));
      const url = urls.get(d.endpoint_id);
      return h("tr", { dataset: { delivery: d.endpoint_id } },
        h("td", { class: "mono", "data-label": "Endpoint" }, url ? h("a", { href: `#/endpoints/${d.endpoint_id}` }, url) : h("span", { class: "muted" }, "deleted endpoint")),
        h("td", { "data-label": "Status" }, statusPill(d.status)),
        h("td", { "data-label": "Attempts" }, String(d.attempts)),
        h("td", { "data-label": "Last answer" }, d.last_status_code ? codePill(d.last_status_code) : h("span", { class: "muted" }, "—")),
        h("td", { "data-label": "Next attempt" }, d.next_attempt_at && d.status === "pending" ? time(d.next_attempt_at)
          : d.status === "parked" ? h("span", { class: "small" }, url ? h("a", { href: `#/endpoints/${d.endpoint_id}` }, "when the endpoint is enabled") : "when the endpoint is enabled")
            : h("span", { class: "muted" }, "—")),
        // A parked one goes when its endpoint is enabled (on its page).
        h("td", {}, url && canChange() && d.status !== "parked" ? btn : null));
    }))));
}

// attemptView shows one attempt: its answer, timings, headers and body.
export function attemptView(a, urls, open) {
  const headers = Object.entries(a.response_headers || {});
  const tm = a.timings || {};
  return h("details", { class: "attempt", open, dataset: { attempt: a.id } },
    h("summary", {},
      h("strong", {}, `#${a.attempt}`),
      codePill(a.status_code, a.error),
      h("span", { class: "muted small" }, `${a.duration_ms} ms`),
      pill(a.trigger, "plain"),
      h("span", { class: "sum-time" }, time(a.started_at))),
    h("div", { class: "attempt-body" },
      h("dl", { class: "facts" },
        h("dt", {}, "Endpoint"), h("dd", { class: "mono" }, a.url || urls.get(a.endpoint_id) || a.endpoint_id),
        a.remote_addr ? [h("dt", {}, "Address"), h("dd", { class: "mono" }, a.remote_addr)] : null,
        a.error ? [h("dt", {}, "Error"), h("dd", {}, h("strong", {}, a.error), a.error_detail ? ` — ${a.error_detail}` : "")] : null,
        h("dt", {}, "Timings"), h("dd", { class: "small" },
          `DNS ${tm.dns_ms ?? 0} ms · connect ${tm.connect_ms ?? 0} ms · TLS ${tm.tls_ms ?? 0} ms · first byte ${tm.ttfb_ms ?? 0} ms`)),
      h("div", {},
        h("h3", {}, "Response headers"),
        headers.length ? h("div", { class: "table-wrap" }, h("table", {}, h("tbody", {},
          headers.map(([k, vs]) => h("tr", {}, h("td", { class: "mono" }, k), h("td", { class: "mono" }, vs.join(", "))))))) : h("p", { class: "muted small" }, "none")),
      h("div", {},
        h("h3", {}, "Response body", a.response_body_truncated ? h("span", { class: "muted small" }, " (truncated)") : null),
        a.expunged ? h("p", { class: "muted small" }, "content removed")
          : a.response_body ? h("pre", { class: "body", tabindex: "0" }, pretty(a.response_body)) : h("p", { class: "muted small" }, "empty"))));
}

// recoverForm re-sends an endpoint's failed deliveries since a time.
export function recoverForm(endpointID) {
  const since = h("input", { type: "datetime-local", id: "recover-since", value: toLocalInput(new Date(Date.now() - 24 * 3600 * 1000)) });
  const btn = h("button", { type: "submit", class: "btn", id: "recover" }, "Recover failed");
  const form = h("form", { class: "inline-form", novalidate: true },
    h("div", { class: "field", "data-field": "since" }, h("label", { for: "recover-since" }, "Failed since"), since),
    btn);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = since.value ? { since: new Date(since.value).toISOString() } : {};
    busy(btn, async () => {
      try {
        const r = await post(t(`/endpoints/${endpointID}/recover`), body);
        toast(r.enqueued === 0 ? "No failed deliveries in that time." : `Sending ${r.enqueued} failed deliveries again.`);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        showErrors(form, err);
      }
    });
  });
  return form;
}

// toLocalInput formats a date for <input type=datetime-local> in the
// browser's zone.
export function toLocalInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
