// Bulk replay: a filter, a dry run that says how many failed deliveries
// match, a confirmation, then the replay's progress until it is finished;
// below, every replay so far.
import { get, post, query, ApiError } from "../api.js";
import { h, clear, time, pill, emptyState, showErrors, clearErrors, busy, toast, confirmDialog, sleep } from "../dom.js";
import { toLocalInput } from "../pages/messages.js";
import { field, isoOrEmpty, filterSummary, num } from "./common.js";

export async function replayPage(el, q) {
  const history = h("div", { id: "replay-history" }, h("div", { class: "loading", role: "status" }, "Loading…"));
  const progress = h("div", { id: "replay-progress" });
  clear(el,
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, "Bulk replay"),
        h("p", { class: "sub" }, "Send failed deliveries again, across tenants or narrowed down. Preview how many match before anything is sent."))),
    replayForm(q, progress, () => loadHistory(history)),
    progress,
    h("section", { class: "card list-card" },
      h("div", { class: "card-head padded" }, h("h2", {}, "Replay history"),
        h("button", { type: "button", class: "btn btn-sm", onclick: () => loadHistory(history) }, "Refresh")),
      history));
  await loadHistory(history);
}

function replayForm(q, progress, refresh) {
  const tenant = h("input", { type: "text", name: "tenant_id", value: q.get("tenant_id") || "", placeholder: "All tenants", class: "mono" });
  const endpoint = h("input", { type: "text", name: "endpoint_id", value: q.get("endpoint_id") || "", placeholder: "All endpoints (id)", class: "mono" });
  const type = h("input", { type: "text", name: "event_type", value: q.get("event_type") || "", placeholder: "All event types", class: "mono" });
  const sinceQ = q.get("since");
  const since = h("input", { type: "datetime-local", name: "since", required: true,
    value: toLocalInput(sinceQ ? new Date(sinceQ) : new Date(Date.now() - 24 * 3600 * 1000)) });
  const untilQ = q.get("until");
  const until = h("input", { type: "datetime-local", name: "until", value: untilQ ? toLocalInput(new Date(untilQ)) : "" });
  const preview = h("button", { type: "submit", class: "btn btn-primary", id: "replay-preview" }, "Preview");
  const result = h("div", { id: "replay-preview-result", "aria-live": "polite" });
  const form = h("form", { class: "card", novalidate: true },
    h("h2", {}, "Which failed deliveries"),
    h("div", { class: "filters filters-3" },
      field("r-tenant", "Tenant id", tenant),
      field("r-endpoint", "Endpoint id", endpoint),
      field("r-type", "Event type", type),
      field("r-since", "Created since (required)", since),
      field("r-until", "Created before", until, "Empty: up to now."),
      h("div", { class: "actions filters-actions" }, preview)),
    result);

  const body = () => {
    const b = { status: "failed", since: isoOrEmpty(since.value) };
    if (tenant.value.trim()) b.tenant_id = tenant.value.trim();
    if (endpoint.value.trim()) b.endpoint_id = endpoint.value.trim();
    if (type.value.trim()) b.event_type = type.value.trim();
    if (until.value) b.until = isoOrEmpty(until.value);
    return b;
  };
  // A preview holds for the filter it was made with only.
  form.addEventListener("input", () => clear(result));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(form);
    clear(result);
    const b = body();
    if (!since.value) {
      showErrors(form, new ApiError(422, { detail: "since: is required", errors: [{ field: "since", message: "is required: replay failed deliveries created since when?" }] }));
      return;
    }
    busy(preview, async () => {
      let n;
      try {
        n = (await post("/replays", { ...b, dry_run: true })).matched;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        showErrors(form, err);
        return;
      }
      if (n === 0) {
        clear(result, h("div", { class: "result" }, "No failed deliveries match. Nothing to replay."));
        return;
      }
      const go = h("button", { type: "button", class: "btn btn-primary", id: "replay-confirm" }, `Replay ${num(n)} deliveries`);
      go.addEventListener("click", async () => {
        const ok = await confirmDialog({ title: `Replay ${num(n)} failed deliveries?`,
          body: `Each is sent again to its endpoint (${filterSummary(b)}). Receivers may get the same message twice, with the same webhook-id.`,
          confirm: "Replay" });
        if (!ok) return;
        await busy(go, async () => {
          try {
            const r = await post("/replays", b);
            clear(result);
            watch(progress, r, refresh);
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            showErrors(form, err);
          }
        });
      });
      clear(result, h("div", { class: "result preview" },
        h("strong", { id: "replay-count" }, `${num(n)} ${n === 1 ? "delivery matches" : "deliveries match"}.`),
        h("span", {}, " Nothing is sent until you confirm."),
        h("div", { class: "actions spaced-top" }, go)));
    });
  });
  return form;
}

// watch shows a replay's progress, polling it until it is finished: every
// delivery it enqueued has been attempted again.
async function watch(box, r, refresh) {
  const bar = h("span", { id: "replay-bar" });
  const label = h("p", { class: "small", id: "replay-progress-label" });
  const state = h("span", { id: "replay-state" });
  const card = h("section", { class: "card", dataset: { replay: r.id } },
    h("div", { class: "card-head" }, h("h2", {}, "Replay in progress"), state),
    h("p", { class: "muted small" }, filterSummary(r.filter), " · started ", time(r.created_at)),
    h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(r.matched), "aria-labelledby": "replay-progress-label" }, bar),
    label);
  clear(box, card);
  card.scrollIntoView({ block: "nearest" });
  refresh();
  const done = (x) => x.status === "finished" && x.done >= x.enqueued;
  for (let i = 0; i < 3600 && card.isConnected; i++) {
    const total = Math.max(r.matched, r.enqueued, 1);
    const pct = Math.min(100, Math.round((100 * r.done) / total));
    bar.style.width = `${done(r) ? 100 : pct}%`;
    card.querySelector(".progress").setAttribute("aria-valuenow", String(r.done));
    label.textContent = `${num(r.done)} of ${num(r.matched)} sent again · ${num(r.enqueued)} queued`;
    if (done(r)) {
      clear(state, pill("finished", "ok"));
      card.querySelector(".progress").classList.add("done");
      card.querySelector("h2").textContent = "Replay finished";
      label.textContent = `${num(r.done)} of ${num(r.matched)} deliveries sent again. Their new attempts are on the Failed deliveries page if they failed again.`;
      refresh();
      return;
    }
    clear(state, pill(r.status === "finished" ? "sending" : "queueing", "warn"));
    await sleep(1000);
    try {
      r = await get(`/replays/${r.id}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return;
    }
  }
}

async function loadHistory(box) {
  let page;
  try {
    page = await get("/replays" + query({ limit: 20 }));
  } catch (err) {
    clear(box, h("div", { class: "result bad" }, err.message));
    return;
  }
  if (page.data.length === 0) {
    clear(box, emptyState("inbox", "No replays yet", "Replays, endpoint recoveries and resends show up here, with who asked and how far they got."));
    box.firstChild.classList.remove("card");
    return;
  }
  const body = h("tbody", {});
  const render = (list) => {
    for (const r of list) {
      const pct = Math.min(100, Math.round((100 * r.done) / Math.max(r.matched, 1)));
      body.appendChild(h("tr", { dataset: { replay: r.id } },
        h("td", { "data-label": "Started" }, time(r.created_at)),
        h("td", { "data-label": "What" }, kind(r.filter), h("div", { class: "reason" }, filterSummary(r.filter))),
        h("td", { "data-label": "By", class: "mono small" }, r.created_by),
        h("td", { "data-label": "Status" }, r.status === "finished" ? pill("finished", "ok") : pill(r.status, "warn")),
        h("td", { "data-label": "Matched", class: "num" }, num(r.matched)),
        h("td", { "data-label": "Sent again", class: "num" }, num(r.done),
          h("div", { class: "bar ok-bar" }, h("span", { style: `width:${pct}%` })))));
    }
  };
  render(page.data);
  const table = h("div", { class: "table-wrap" }, h("table", { class: "stack-sm data" },
    h("thead", {}, h("tr", {}, h("th", {}, "Started"), h("th", {}, "What"), h("th", {}, "By"), h("th", {}, "Status"),
      h("th", { class: "num" }, "Matched"), h("th", { class: "num" }, "Sent again"))),
    body));
  const more = h("div", { class: "more" });
  const addMore = (cursor) => {
    clear(more);
    if (!cursor) {
      more.hidden = true;
      return;
    }
    more.hidden = false;
    const btn = h("button", { type: "button", class: "btn" }, "Load more");
    btn.addEventListener("click", () => busy(btn, async () => {
      try {
        const next = await get("/replays" + query({ limit: 20, cursor }));
        render(next.data);
        addMore(next.next_cursor);
      } catch (err) {
        toast(err.message, "bad");
      }
    }));
    more.appendChild(btn);
  };
  addMore(page.next_cursor);
  clear(box, table, more);
}

// kind names what made a replay: a message's resend, an endpoint's
// backfill, or a replay or recover of failed deliveries.
function kind(f) {
  if (f && f.kind === "backfill") return h("strong", {}, "Backfill");
  return h("strong", {}, f && f.message_id ? "Resend" : "Replay of failed");
}
