// Deliveries of every tenant (failed ones by default), with filters; each
// row opens its attempts, with the receiver's answers, in place.
import { get, all, query } from "../api.js";
import { h, clear, time, codePill, statusPill, emptyState, toast, busy } from "../dom.js";
import { attemptView, toLocalInput } from "../pages/messages.js";
import { field, isoOrEmpty } from "./common.js";

const PAGE = 25;

export async function deliveriesPage(el, q) {
  const f = {
    status: q.has("status") ? q.get("status") : "failed",
    tenant_id: q.get("tenant_id") || "",
    endpoint_id: q.get("endpoint_id") || "",
    event_type: q.get("event_type") || "",
    since: q.get("since") || "",
    until: q.get("until") || "",
  };
  const api = { ...f, status: f.status === "any" ? "" : f.status };
  const first = await get("/deliveries" + query({ ...api, limit: PAGE }));
  const title = { failed: "Failed deliveries", parked: "Parked deliveries" }[f.status] || "Deliveries";
  const replayable = f.status === "failed" && first.data.length > 0;
  const head = h("div", { class: "page-head" },
    h("div", {},
      h("h1", {}, title),
      h("p", { class: "sub" }, "Deliveries of every tenant, newest first. Open one to see each attempt and what the receiver answered.")),
    replayable ? h("div", { class: "actions" },
      h("a", { class: "btn", id: "replay-these", href: "#/replay" + query({ tenant_id: f.tenant_id, endpoint_id: f.endpoint_id, event_type: f.event_type, since: f.since, until: f.until }) },
        "Replay these…")) : null);
  const filters = filterForm(f);
  if (first.data.length === 0) {
    const any = f.tenant_id || f.endpoint_id || f.event_type || f.since || f.until;
    const none = {
      failed: ["No failed deliveries", "Every delivery so far succeeded or is still being retried."],
      parked: ["No parked deliveries", "No message is waiting for a disabled endpoint."],
    }[f.status] || ["No deliveries", "Nothing was delivered yet."];
    clear(el, head, filters, emptyState("inbox", none[0], any ? "Nothing matches these filters. Widen them to see more." : none[1]));
    return;
  }
  const body = h("tbody", { id: "delivery-rows" });
  const card = h("div", { class: "card list-card" }, h("div", { class: "table-wrap" }, h("table", { class: "stack-sm data" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Created"), h("th", {}, "Tenant"), h("th", {}, "Event"), h("th", {}, "Endpoint"),
      h("th", {}, "Status"), h("th", {}, "Last answer"), h("th", {}, ""))),
    body)));
  clear(el, head, filters, card);
  addRows(body, card, first, api);
}

function filterForm(f) {
  const status = h("select", { name: "status" },
    [["failed", "Failed"], ["pending", "Pending"], ["succeeded", "Succeeded"], ["parked", "Parked"], ["any", "Any status"]].map(([v, l]) => h("option", { value: v }, l)));
  status.value = f.status || "any";
  const tenant = h("input", { type: "text", name: "tenant_id", value: f.tenant_id, placeholder: "All tenants", class: "mono" });
  const endpoint = h("input", { type: "text", name: "endpoint_id", value: f.endpoint_id, placeholder: "All endpoints (id)", class: "mono" });
  const type = h("input", { type: "text", name: "event_type", value: f.event_type, placeholder: "All event types", class: "mono" });
  const since = h("input", { type: "datetime-local", name: "since", value: f.since ? toLocalInput(new Date(f.since)) : "" });
  const until = h("input", { type: "datetime-local", name: "until", value: f.until ? toLocalInput(new Date(f.until)) : "" });
  const form = h("form", { class: "card filters filters-3", role: "search" },
    field("f-status", "Status", status),
    field("f-tenant", "Tenant id", tenant),
    field("f-endpoint", "Endpoint id", endpoint),
    field("f-type", "Event type", type),
    field("f-since", "Created since", since),
    field("f-until", "Created before", until),
    h("div", { class: "actions filters-actions" },
      h("button", { type: "submit", class: "btn btn-primary", id: "apply-filters" }, "Filter"),
      h("a", { class: "btn btn-ghost", href: "#/deliveries" }, "Clear")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = "#/deliveries" + query({
      status: status.value, tenant_id: tenant.value.trim(), endpoint_id: endpoint.value.trim(), event_type: type.value.trim(),
      since: isoOrEmpty(since.value), until: isoOrEmpty(until.value),
    });
  });
  return form;
}

function addRows(body, card, page, api) {
  for (const d of page.data) addRow(body, d);
  const old = card.querySelector(".more");
  if (old) old.remove();
  if (page.next_cursor) {
    const btn = h("button", { type: "button", class: "btn" }, "Load more");
    btn.addEventListener("click", () => busy(btn, async () => {
      try {
        addRows(body, card, await get("/deliveries" + query({ ...api, limit: PAGE, cursor: page.next_cursor })), api);
      } catch (err) {
        toast(err.message, "bad");
      }
    }));
    card.appendChild(h("div", { class: "more" }, btn));
  }
}

function addRow(body, d) {
  const toggle = h("button", { type: "button", class: "btn btn-sm", "aria-expanded": "false", dataset: { attempts: d.id } }, "Attempts");
  const detail = h("tr", { class: "detail-row", hidden: true }, h("td", { colspan: "7" }));
  toggle.addEventListener("click", async () => {
    const open = detail.hidden;
    detail.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Hide" : "Attempts";
    if (open && !detail.dataset.loaded) await loadAttempts(detail.firstChild, d);
    if (open) detail.dataset.loaded = "1";
  });
  body.appendChild(h("tr", { dataset: { delivery: d.id } },
    h("td", { "data-label": "Created" }, time(d.created_at)),
    h("td", { "data-label": "Tenant", class: "mono" }, d.tenant_id),
    h("td", { "data-label": "Event" }, h("code", {}, d.event_type || "—")),
    h("td", { "data-label": "Endpoint", class: "cell-main" },
      d.endpoint_url ? h("span", { class: "url", title: d.endpoint_url }, d.endpoint_url) : h("span", { class: "muted" }, "deleted endpoint")),
    h("td", { "data-label": "Status" }, statusPill(d.status), h("div", { class: "reason" }, `${d.attempts} attempt${d.attempts === 1 ? "" : "s"}`)),
    h("td", { "data-label": "Last answer" }, d.attempts ? codePill(d.last_status_code, d.last_error) : h("span", { class: "muted" }, "—")),
    h("td", {}, toggle)));
  body.appendChild(detail);
}

// loadAttempts shows a delivery's attempts, newest first, through the
// tenant's message attempts.
async function loadAttempts(cell, d) {
  clear(cell, h("div", { class: "loading", role: "status" }, "Loading attempts…"));
  try {
    const list = await all(`/tenants/${encodeURIComponent(d.tenant_id)}/messages/${d.message_id}/attempts`);
    const mine = list.filter((a) => a.endpoint_id === d.endpoint_id);
    const urls = new Map([[d.endpoint_id, d.endpoint_url]]);
    clear(cell, h("div", { class: "attempts-inline" },
      h("p", { class: "small muted" }, "Message ", h("span", { class: "mono" }, d.message_id), " · delivery ", h("span", { class: "mono" }, d.id)),
      mine.length === 0 ? h("p", { class: "muted" }, "No attempt yet.") : mine.map((a, i) => attemptView(a, urls, i === 0))));
  } catch (err) {
    clear(cell, h("div", { class: "result bad" }, err.message));
  }
}
