// Operational webhooks: the SaaS's own endpoints, where hookd tells it
// what happens to its customers' endpoints. Add one with the event types it
// wants (the catalog is the `webhooks` of the OpenAPI document), reveal its
// secret, look at what was sent to it, delete it.
import { get, post, del, all, mapLimit, ApiError } from "../api.js";
import { h, clear, time, pill, emptyState, showErrors, clearErrors, busy, toast, confirmDialog, copyButton } from "../dom.js";
import { attemptView } from "../pages/messages.js";
import { field } from "./common.js";

const BASE = "/operational-endpoints";

// catalog reads the operational event types, with their summaries, from
// the OpenAPI document.
async function catalog() {
  const res = await fetch("/api/openapi.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`the event catalog could not be read (${res.status})`);
  const doc = await res.json();
  return Object.entries(doc.webhooks || {}).map(([name, item]) => ({ name, summary: (item.post && item.post.summary) || "" }));
}

export async function operationalPage(el) {
  const [types, endpoints] = await Promise.all([catalog(), all(BASE)]);
  const list = h("div", { id: "op-list" });
  const reload = async () => {
    try {
      renderList(list, await all(BASE), reload);
    } catch (err) {
      clear(list, h("div", { class: "result bad" }, err.message));
    }
  };
  clear(el,
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, "Operational webhooks"),
        h("p", { class: "sub" }, "Your own endpoints, where hookd tells you what happens to your customers' endpoints: failing, disabled, " +
          "recovered, changed, or a delivery that gave up. They are signed, retried and logged like every webhook; nothing is ever " +
          "said about these endpoints themselves."))),
    addForm(types, reload),
    list);
  renderList(list, endpoints, reload);
}

function addForm(types, reload) {
  const url = h("input", { type: "text", name: "url", class: "mono", inputmode: "url", autocomplete: "off",
    placeholder: "https://ops.example.com/hookd", required: true });
  const description = h("input", { type: "text", name: "description", autocomplete: "off", placeholder: "e.g. on-call alerts" });
  const checks = types.map((t) => h("label", { class: "check" },
    h("input", { type: "checkbox", value: t.name, name: "event_types" }),
    h("span", {}, h("code", {}, t.name), t.summary ? h("small", {}, t.summary) : null)));
  const add = h("button", { type: "submit", class: "btn btn-primary", id: "op-add" }, "Add endpoint");
  const form = h("form", { class: "card", novalidate: true, id: "op-form" },
    h("h2", {}, "Add an operational endpoint"),
    h("div", { class: "filters op-fields" },
      field("op-url", "URL", url),
      field("op-description", "Description", description)),
    h("fieldset", { class: "field", "data-field": "event_types" },
      h("legend", {}, "Event types"),
      h("p", { class: "hint" }, "None ticked: every operational event, including ones added later."),
      h("div", { class: "checks" }, checks)),
    h("div", { class: "form-actions" }, add));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = {
      url: url.value.trim(),
      description: description.value.trim(),
      event_types: [...form.querySelectorAll("input[name=event_types]:checked")].map((c) => c.value),
    };
    busy(add, async () => {
      try {
        await post(BASE, body);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        showErrors(form, err);
        return;
      }
      toast("Operational endpoint added.");
      form.reset();
      await reload();
    });
  });
  return form;
}

function renderList(box, endpoints, reload) {
  if (endpoints.length === 0) {
    clear(box, emptyState("plug", "No operational endpoints yet",
      "Add one above to hear when a customer's endpoint fails, is disabled or recovers, when endpoints change, and when a delivery gives up."));
    return;
  }
  const body = h("tbody", { id: "op-rows" });
  for (const e of endpoints) addRow(body, e, reload);
  clear(box, h("section", { class: "card list-card" },
    h("div", { class: "card-head padded" }, h("h2", {}, "Operational endpoints")),
    h("div", { class: "table-wrap" }, h("table", { class: "stack-sm data" },
      h("thead", {}, h("tr", {}, h("th", {}, "Endpoint"), h("th", {}, "Event types"), h("th", {}, "Created"), h("th", {}, ""))),
      body))));
}

function addRow(body, e, reload) {
  const detail = h("tr", { class: "detail-row", hidden: true }, h("td", { colspan: "4" }));
  const open = (what, fill) => async () => {
    if (!detail.hidden && detail.dataset.what === what) {
      detail.hidden = true;
      return;
    }
    detail.dataset.what = what;
    detail.hidden = false;
    clear(detail.firstChild, h("div", { class: "loading", role: "status" }, "Loading…"));
    try {
      await fill(detail.firstChild);
    } catch (err) {
      clear(detail.firstChild, h("div", { class: "result bad" }, err.message));
    }
  };
  const path = `${BASE}/${e.id}`;
  const secret = h("button", { type: "button", class: "btn btn-sm", dataset: { opSecret: e.id } }, "Secret");
  secret.addEventListener("click", open("secret", async (cell) => {
    const s = await get(path + "/secret");
    clear(cell, h("div", { class: "link-result" },
      h("p", { class: "small" }, "Verify what this endpoint gets with this secret (Standard Webhooks)."),
      h("div", { class: "secret-box" }, h("span", { class: "secret op-secret" }, s.secret), copyButton(() => s.secret, "Copy"))));
  }));
  const attempts = h("button", { type: "button", class: "btn btn-sm", dataset: { opAttempts: e.id } }, "Attempts");
  attempts.addEventListener("click", open("attempts", async (cell) => {
    const page = await get(path + "/attempts?limit=20");
    const urls = new Map([[e.id, e.url]]);
    // What each attempt carried: the operational message's type and data.
    const ids = [...new Set(page.data.map((a) => a.message_id))];
    const msgs = new Map();
    await mapLimit(ids, 4, async (id) => msgs.set(id, await get(`/tenants/${encodeURIComponent(e.tenant_id)}/messages/${id}`)));
    clear(cell, h("div", { class: "attempts-inline op-attempts" },
      page.data.length === 0
        ? h("p", { class: "muted" }, "Nothing was sent to it yet.")
        : page.data.map((a, i) => h("div", { class: "op-attempt", dataset: { eventType: eventOf(msgs.get(a.message_id)).type } },
          eventLine(eventOf(msgs.get(a.message_id))),
          attemptView(a, urls, i === 0)))));
  }));
  const remove = h("button", { type: "button", class: "btn btn-sm btn-danger", dataset: { opDelete: e.id } }, "Delete");
  remove.addEventListener("click", async () => {
    const yes = await confirmDialog({ title: "Delete this operational endpoint?",
      body: `${e.url} stops hearing from hookd at once.`, confirm: "Delete", danger: true });
    if (!yes) return;
    await busy(remove, async () => {
      try {
        await del(path);
      } catch (err) {
        toast(err.message, "bad");
        return;
      }
      toast("Operational endpoint deleted.");
      await reload();
    });
  });
  body.appendChild(h("tr", { dataset: { opEndpoint: e.id } },
    h("td", { "data-label": "Endpoint", class: "cell-main" },
      h("span", { class: "url", title: e.url }, e.url),
      e.description ? h("div", { class: "reason" }, e.description) : null,
      e.disabled ? h("div", {}, pill("disabled", "bad", e.disabled_reason)) : null),
    h("td", { "data-label": "Event types" }, e.event_types.length
      ? h("div", { class: "op-types" }, e.event_types.map((t) => h("code", {}, t)))
      : h("span", { class: "muted" }, "all")),
    h("td", { "data-label": "Created" }, time(e.created_at)),
    h("td", {}, h("div", { class: "actions" }, attempts, secret, remove))));
  body.appendChild(detail);
}

// eventOf is the operational event a message carries ({} when unknown).
function eventOf(m) {
  return (m && m.payload && typeof m.payload === "object") ? m.payload : {};
}

// eventLine says in a line what an operational event was about.
function eventLine(ev) {
  const d = ev.data || {};
  return h("p", { class: "small op-event" },
    h("code", {}, ev.type || "unknown event"),
    d.tenant_id ? [" · tenant ", h("span", { class: "mono" }, d.tenant_id)] : null,
    d.url ? [" · ", h("span", { class: "mono" }, d.url)] : null,
    d.reason ? [" · ", d.reason] : null);
}
