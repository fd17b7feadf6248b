// Failing endpoints of every tenant: disabled, or their latest attempt
// failed. Each can be recovered (its failed deliveries sent again) or, when
// disabled, enabled.
import { get, post, patch, query, ApiError } from "../api.js";
import { h, clear, time, codePill, pill, emptyState, toast, busy, confirmDialog } from "../dom.js";
import { toLocalInput } from "../pages/messages.js";
import { num, isoOrEmpty } from "./common.js";

const PAGE = 25;

export async function failingPage(el) {
  const first = await get("/endpoints/failing" + query({ limit: PAGE }));
  const head = h("div", { class: "page-head" },
    h("div", {},
      h("h1", {}, "Failing endpoints"),
      h("p", { class: "sub" }, "Endpoints of every tenant that are disabled or whose latest attempt failed, newest problem first.")),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "btn", onclick: () => failingPage(el) }, "Refresh")));
  if (first.data.length === 0) {
    clear(el, head, emptyState("plug", "No failing endpoints",
      "Every endpoint's latest attempt succeeded and none is disabled. Failed deliveries from before are on the Failed deliveries page."));
    return;
  }
  const body = h("tbody", { id: "failing-rows" });
  const card = h("div", { class: "card list-card" }, h("div", { class: "table-wrap" }, h("table", { class: "stack-sm data" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Endpoint"), h("th", {}, "Tenant"), h("th", {}, "Problem"), h("th", {}, "Last attempt"),
      h("th", { class: "num" }, "Failed"), h("th", {}, ""))),
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

function problem(e) {
  const parts = [];
  if (e.disabled) parts.push(h("div", {}, pill("disabled", "warn"), e.disabled_reason ? h("span", { class: "reason-inline" }, e.disabled_reason) : null));
  if (e.last_attempt_at && (e.last_status_code === null || e.last_status_code >= 300)) {
    parts.push(h("div", {}, codePill(e.last_status_code, e.last_error)));
    if (e.last_error_detail && e.last_status_code === null) parts.push(h("div", { class: "reason" }, e.last_error_detail));
  }
  return parts;
}

function row(el, e) {
  const tenantPath = `/tenants/${encodeURIComponent(e.tenant_id)}/endpoints/${e.id}`;
  const actions = h("div", { class: "actions" });
  if (e.disabled) {
    const enable = h("button", { type: "button", class: "btn btn-sm", dataset: { enable: e.id } }, "Enable");
    enable.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: "Enable this endpoint?", body: `${e.url} (tenant ${e.tenant_id}) gets deliveries again from now on.`, confirm: "Enable" });
      if (!ok) return;
      await busy(enable, async () => {
        try {
          await patch(tenantPath, { disabled: false });
          toast("Enabled. Recover its failed deliveries to send them again.");
          await failingPage(el);
        } catch (err) {
          toast(err.message, "bad");
        }
      });
    });
    actions.appendChild(enable);
  }
  const recover = h("button", { type: "button", class: "btn btn-sm", dataset: { recover: e.id }, disabled: e.disabled,
    title: e.disabled ? "Enable it first: a disabled endpoint gets no deliveries." : null }, "Recover failed since…");
  recover.addEventListener("click", () => recoverDialog(e, tenantPath));
  actions.appendChild(recover);
  const failedLink = e.failed_deliveries > 0
    ? h("a", { href: "#/deliveries" + query({ status: "failed", tenant_id: e.tenant_id, endpoint_id: e.id }) }, num(e.failed_deliveries))
    : h("span", { class: "muted" }, "0");
  return h("tr", { dataset: { endpoint: e.id } },
    h("td", { "data-label": "Endpoint", class: "cell-main" },
      h("span", { class: "url", title: e.url }, e.url),
      e.description ? h("div", { class: "desc" }, e.description) : null),
    h("td", { "data-label": "Tenant", class: "mono" }, e.tenant_id),
    h("td", { "data-label": "Problem" }, problem(e)),
    h("td", { "data-label": "Last attempt" }, e.last_attempt_at ? time(e.last_attempt_at, true) : h("span", { class: "muted" }, "none")),
    h("td", { "data-label": "Failed", class: "num" }, failedLink),
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
