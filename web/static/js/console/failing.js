// Failing endpoints of every tenant: disabled, or failing (in a run of
// failed attempts, which the first failed attempt begins), each with its health,
// circuit, what its server last answered and the messages parked for it.
// Each can be recovered (its failed deliveries sent again) or, when
// disabled, enabled, sending what it missed or not.
import { get, post, patch, query, ApiError } from "../api.js";
import { h, clear, time, codePill, emptyState, toast, busy, confirmDialog } from "../dom.js";
import { toLocalInput } from "../pages/messages.js";
import { healthPill, healthState, sinceLine, circuitText, messages } from "../health.js";
import { num, isoOrEmpty } from "./common.js";

const PAGE = 25;

export async function failingPage(el) {
  const first = await get("/endpoints/failing" + query({ limit: PAGE }));
  const head = h("div", { class: "page-head" },
    h("div", {},
      h("h1", {}, "Failing endpoints"),
      h("p", { class: "sub" }, "Endpoints of every tenant that are disabled or in a run of failed attempts, newest problem first.")),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "btn", onclick: () => failingPage(el) }, "Refresh")));
  if (first.data.length === 0) {
    clear(el, head, emptyState("plug", "No failing endpoints",
      "Every endpoint's latest attempt succeeded and none is disabled. Failed deliveries from before are on the Failed deliveries page."));
    return;
  }
  const body = h("tbody", { id: "failing-rows" });
  const card = h("div", { class: "card list-card" }, h("div", { class: "table-wrap" }, h("table", { class: "stack-sm data failing" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Endpoint"), h("th", {}, "Health"), h("th", {}, "Last answer"),
      h("th", { class: "num" }, "Failed"), h("th", { class: "num" }, "Waiting"), h("th", {}, ""))),
    body)));
  clear(el, head, card);
  addRows(el, body, card, first);
}

function addRows(el, body, card, page) {
  for (const e of page.data) body.appendChild(row(el, e));
  const old = card.querySelector(".more");
  if (old) old.remove();
  if (page.next_cursor) {
    const btn = h("button", { type: "button", class: "btn" }, "Load more");
    btn.addEventListener("click", () => busy(btn, async () => {
      try {
        addRows(el, body, card, await get("/endpoints/failing" + query({ limit: PAGE, cursor: page.next_cursor })));
      } catch (err) {
        toast(err.message, "bad");
      }
    }));
    card.appendChild(h("div", { class: "more" }, btn));
  }
}

// healthCell: the state since when, why it is disabled, the circuit.
function healthCell(e) {
  const since = sinceLine(e, true);
  return [
    h("div", {}, healthPill(e)),
    since ? h("div", { class: "reason" }, since) : null,
    e.disabled && e.disabled_reason ? h("div", { class: "reason" }, e.disabled_reason) : null,
    circuitText(e, true) ? h("div", { class: "reason" }, circuitText(e, true)) : null,
  ];
}

// answerCell: the latest attempt's outcome, and what the endpoint's
// server answered when it last failed.
function answerCell(e) {
  const hl = e.health || {};
  const parts = [];
  if (e.last_attempt_at) {
    parts.push(h("div", {}, codePill(e.last_status_code, e.last_error), " ",
      h("span", { class: "muted small" }, time(e.last_attempt_at, true))));
  }
  if (hl.last_error) {
    parts.push(h("div", { class: "last-error", title: hl.last_failure_at ? "Last failure: " + new Date(hl.last_failure_at).toLocaleString() : null }, hl.last_error));
  } else if (e.last_error_detail && e.last_status_code === null) {
    parts.push(h("div", { class: "reason" }, e.last_error_detail));
  }
  if (parts.length === 0) parts.push(h("span", { class: "muted" }, "no attempt"));
  return parts;
}

function row(el, e) {
  const tenantPath = `/tenants/${encodeURIComponent(e.tenant_id)}/endpoints/${e.id}`;
  const n = e.parked_count || 0;
  const actions = h("div", { class: "actions" });
  const done = async (text) => {
    toast(text);
    await failingPage(el);
  };
  if (e.disabled && n > 0) {
    const send = h("button", { type: "button", class: "btn btn-sm btn-primary", dataset: { enableSend: e.id } }, `Enable and send ${num(n)}`);
    send.addEventListener("click", async () => {
      const ok = await confirmDialog({
        title: `Enable it and send ${messages(n)}?`,
        body: `${messages(n)} ${n === 1 ? "was" : "were"} kept for ${e.url} (tenant ${e.tenant_id}) while it was disabled. ` +
          "It is enabled, and they are sent, oldest first, each with its original webhook-id.",
        confirm: `Enable and send ${messages(n)}`,
      });
      if (!ok) return;
      await busy(send, async () => {
        try {
          await patch(tenantPath, { disabled: false, send_parked: true });
        } catch (err) {
          toast(err.message, "bad");
          return;
        }
        await done(`Enabled. Sending ${messages(n)}.`);
      });
    });
    actions.appendChild(send);
  }
  if (e.disabled) {
    const enable = h("button", { type: "button", class: "btn btn-sm", dataset: { enable: e.id } }, "Enable");
    enable.addEventListener("click", async () => {
      const ok = await confirmDialog({
        title: "Enable this endpoint?",
        body: `${e.url} (tenant ${e.tenant_id}) gets deliveries again from now on.` +
          (n > 0 ? ` The ${messages(n)} kept while it was disabled stay waiting; “Enable and send ${num(n)}” sends them too.` : ""),
        confirm: "Enable",
      });
      if (!ok) return;
      await busy(enable, async () => {
        try {
          await patch(tenantPath, { disabled: false });
        } catch (err) {
          toast(err.message, "bad");
          return;
        }
        await done("Enabled. Recover its failed deliveries to send them again.");
      });
    });
    actions.appendChild(enable);
  } else if (n > 0) {
    const send = h("button", { type: "button", class: "btn btn-sm btn-primary", dataset: { sendParked: e.id } }, `Send ${num(n)} waiting`);
    send.addEventListener("click", async () => {
      const ok = await confirmDialog({
        title: `Send ${messages(n)}?`,
        body: `${messages(n)} ${n === 1 ? "was" : "were"} kept for ${e.url} (tenant ${e.tenant_id}) while it was disabled. ` +
          "They are sent, oldest first, each with its original webhook-id.",
        confirm: `Send ${messages(n)}`,
      });
      if (!ok) return;
      await busy(send, async () => {
        try {
          await patch(tenantPath, { send_parked: true });
        } catch (err) {
          toast(err.message, "bad");
          return;
        }
        await done(`Sending ${messages(n)}.`);
      });
    });
    actions.appendChild(send);
  }
  const recover = h("button", { type: "button", class: "btn btn-sm", dataset: { recover: e.id }, disabled: e.disabled,
    title: e.disabled ? "Enable it first: a disabled endpoint gets no deliveries." : null }, "Recover failed since…");
  recover.addEventListener("click", () => recoverDialog(e, tenantPath));
  actions.appendChild(recover);
  const failedLink = e.failed_deliveries > 0
    ? h("a", { href: "#/deliveries" + query({ status: "failed", tenant_id: e.tenant_id, endpoint_id: e.id }) }, num(e.failed_deliveries))
    : h("span", { class: "muted" }, "0");
  const waitingLink = n > 0
    ? h("a", { href: "#/deliveries" + query({ status: "parked", tenant_id: e.tenant_id, endpoint_id: e.id }) }, num(n))
    : h("span", { class: "muted" }, "0");
  return h("tr", { class: `health-${healthState(e)}`, dataset: { endpoint: e.id, health: healthState(e) } },
    h("td", { "data-label": "Endpoint", class: "cell-main" },
      h("span", { class: "url", title: e.url }, e.url),
      e.description ? h("div", { class: "desc" }, e.description) : null,
      h("div", { class: "desc" }, "tenant ", h("span", { class: "mono", dataset: { tenant: e.tenant_id } }, e.tenant_id))),
    h("td", { "data-label": "Health", class: "health" }, healthCell(e)),
    h("td", { "data-label": "Last answer", class: "answer" }, answerCell(e)),
    h("td", { "data-label": "Failed", class: "num" }, failedLink),
    h("td", { "data-label": "Waiting", class: "num" }, waitingLink),
    h("td", {}, actions));
}

// recoverDialog asks since when and sends the endpoint's failed deliveries
// again through POST .../recover.
function recoverDialog(e, tenantPath) {
  const since = h("input", { type: "datetime-local", id: "recover-since", required: true,
    value: toLocalInput(new Date(Date.now() - 24 * 3600 * 1000)) });
  const err = h("div", { class: "form-error", role: "alert", hidden: true });
  const ok = h("button", { type: "submit", class: "btn btn-primary", id: "recover-go" }, "Send them again");
  const dlg = h("dialog", { "aria-labelledby": "recover-title" },
    h("form", { method: "dialog" },
      h("h2", { id: "recover-title" }, "Recover failed deliveries"),
      h("p", {}, "Send again every delivery to ", h("span", { class: "mono" }, e.url), ` (tenant ${e.tenant_id}) that failed and was created since:`),
      err,
      h("div", { class: "field" }, h("label", { for: "recover-since" }, "Failed since (your time zone)"), since),
      h("div", { class: "form-actions" },
        ok,
        h("button", { type: "button", class: "btn", onclick: () => dlg.close() }, "Cancel"))));
  ok.addEventListener("click", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    if (!since.value) {
      err.textContent = "Choose a time.";
      err.hidden = false;
      return;
    }
    await busy(ok, async () => {
      try {
        const r = await post(tenantPath + "/recover", { since: isoOrEmpty(since.value) });
        dlg.close();
        toast(r.enqueued === 0 ? "No failed deliveries in that time." : `Sending ${num(r.enqueued)} failed deliveries again.`);
      } catch (e2) {
        err.textContent = e2 instanceof ApiError ? e2.message : String(e2);
        err.hidden = false;
      }
    });
  });
  dlg.addEventListener("close", () => dlg.remove());
  document.body.appendChild(dlg);
  dlg.showModal();
  since.focus();
}
