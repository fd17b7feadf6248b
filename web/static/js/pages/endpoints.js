// Endpoints: the list with health at a glance, and the create/edit form.
import { get, post, patch, t, all, mapLimit, canChange, ApiError } from "../api.js";
import { h, clear, time, codeText, emptyState, showErrors, clearErrors, busy, toast } from "../dom.js";
import { healthPill, healthState, sinceLine, circuitOpen, messages } from "../health.js";

// REDACTED is what the API shows instead of a secret header's value.
const REDACTED = "[redacted]";

export async function endpointsPage(el) {
  const first = await get(t("/endpoints?limit=50"));
  if (first.data.length === 0) {
    clear(el,
      head(),
      canChange()
        ? emptyState("plug", "No endpoints yet — add one",
          "An endpoint is a URL on your server where we send webhooks. Add one, then send it a test event.",
          h("a", { class: "btn btn-primary", href: "#/endpoints/new" }, "Add endpoint"))
        : emptyState("plug", "No endpoints yet",
          "An endpoint is a URL on your server where we send webhooks. None is set up yet."));
    return;
  }
  const rows = h("div", { class: "rows" },
    h("div", { class: "row rows-head", "aria-hidden": "true" },
      h("span", {}, "Endpoint"), h("span", {}, "Health"), h("span", {}, "Success, 24 h"), h("span", {}, "Last attempt")));
  const card = h("div", { class: "card list-card" }, rows);
  clear(el, head(), card);
  await addRows(rows, card, first);
}

function head() {
  return h("div", { class: "page-head" },
    h("div", {},
      h("h1", {}, "Endpoints"),
      h("p", { class: "sub" }, "Where we send your webhooks, and how they have been doing.")),
    canChange() ? h("div", { class: "actions" }, h("a", { class: "btn btn-primary", href: "#/endpoints/new" }, "Add endpoint")) : null);
}

async function addRows(rows, card, page) {
  const added = page.data.map((e) => {
    const row = endpointRow(e);
    rows.appendChild(row.el);
    return row;
  });
  const more = card.querySelector(".more");
  if (more) more.remove();
  if (page.next_cursor) {
    const btn = h("button", { type: "button", class: "btn" }, "Load more");
    btn.addEventListener("click", () => busy(btn, async () => {
      const next = await get(t("/endpoints?limit=50&cursor=" + encodeURIComponent(page.next_cursor)));
      await addRows(rows, card, next);
    }));
    card.appendChild(h("div", { class: "more" }, btn));
  }
  await mapLimit(added, 6, async (row) => {
    try {
      row.fill(await get(t(`/endpoints/${row.id}/stats`)));
    } catch {
      row.fill(null);
    }
  });
}

function endpointRow(e) {
  // The health comes with the endpoint; the numbers of the last 24 h and
  // the last answer follow from its stats.
  const status = h("div", { class: "health-cell" }, healthPill(e));
  const since = sinceLine(e, true);
  if (since) status.appendChild(h("div", { class: "reason" }, since));
  if (e.disabled && e.disabled_reason) status.appendChild(h("div", { class: "reason" }, e.disabled_reason));
  if (circuitOpen(e) && !e.disabled) {
    status.appendChild(h("div", { class: "reason" }, e.circuit.state === "half_open" ? "trying one request" : "sending paused (circuit open)"));
  }
  if (e.parked_count > 0) {
    status.appendChild(h("div", { class: "reason waiting", dataset: { parked: String(e.parked_count) } }, `${messages(e.parked_count)} waiting`));
  }
  const rate = h("div", { class: "muted small" }, "…");
  const last = h("div", { class: "muted small" }, "…");
  const el = h("a", { class: "row", href: `#/endpoints/${e.id}`, dataset: { endpoint: e.id, health: healthState(e) } },
    h("div", { class: "cell-main" },
      h("span", { class: "url", title: e.url }, e.url),
      h("div", { class: "desc" }, e.description || filtersText(e))),
    h("div", {}, h("span", { class: "cell-label" }, "Health"), status),
    h("div", {}, h("span", { class: "cell-label" }, "Success, 24 h"), rate),
    h("div", {}, h("span", { class: "cell-label" }, "Last attempt"), last));
  return {
    el,
    id: e.id,
    fill(st) {
      if (!st) {
        clear(rate, "—");
        clear(last, "—");
        return;
      }
      if (st.success_rate_24h === null) {
        clear(rate, h("span", { class: "muted small" }, "No attempts"));
      } else {
        const pct = Math.round(st.success_rate_24h * 1000) / 10;
        clear(rate,
          h("div", {}, h("strong", {}, `${pct}%`), h("span", { class: "muted small" }, ` of ${st.attempts_24h}`)),
          h("div", { class: "bar", "aria-hidden": "true" }, h("span", { style: `width:${pct}%` })));
      }
      if (!st.last_attempt_at) {
        clear(last, h("span", { class: "muted small" }, "Never"));
        return;
      }
      const answer = st.last_status_code ? codeText(st.last_status_code) : "no answer";
      const ok = st.last_status_code >= 200 && st.last_status_code < 300;
      clear(last,
        h("div", {}, time(st.last_attempt_at, true)),
        h("div", { class: `last-answer ${ok ? "ok" : "bad"}` }, answer));
    },
  };
}

// filtersText says which events an endpoint gets.
export function filtersText(e) {
  const types = e.event_types.length ? e.event_types.join(", ") : "all event types";
  const channels = e.channels.length ? ` · channels ${e.channels.join(", ")}` : "";
  return types + channels;
}

// endpointFormPage creates an endpoint (id null) or edits one.
export async function endpointFormPage(el, id) {
  const [endpoint, types] = await Promise.all([
    id ? get(t(`/endpoints/${encodeURIComponent(id)}`)) : null,
    all("/event-types"),
  ]);
  const e = endpoint || { url: "", description: "", event_types: [], channels: [], headers: {}, secret_headers: [], rate_limit: null };

  const url = h("input", { type: "text", id: "ep-url", name: "url", class: "mono", inputmode: "url", autocomplete: "off",
    placeholder: "https://example.com/webhooks", value: e.url, required: true });
  const description = h("textarea", { id: "ep-description", name: "description", rows: "2",
    placeholder: "What this endpoint is for (optional)" }, e.description);

  // Event types: the catalog as checkboxes, plus any filter the endpoint
  // already has that the catalog does not list (like invoice.*).
  const names = types.map((et) => et.name);
  const extra = e.event_types.filter((f) => !names.includes(f));
  const checks = [
    ...types.map((et) => check(et.name, et.description, e.event_types.includes(et.name))),
    ...extra.map((f) => check(f, "a filter set through the API", true)),
  ];
  const channels = h("input", { type: "text", id: "ep-channels", name: "channels", autocomplete: "off",
    placeholder: "e.g. eu, project-42", value: e.channels.join(", ") });
  const rateLimit = h("input", { type: "number", id: "ep-rate", name: "rate_limit", min: "1", step: "1",
    placeholder: "no limit", value: e.rate_limit ?? "" });

  // Secret values come back as "[redacted]": such a row shows an empty
  // value, and left empty it sends "[redacted]" again, which keeps the
  // stored value. "Secret" marks a header in secret_headers; credential
  // headers (Authorization, X-Api-Key, ...) are hidden whether ticked or not.
  const marked = (e.secret_headers || []).map((n) => n.toLowerCase());
  const headerRows = h("div", { class: "header-rows" });
  const addHeader = (k = "", v = "") => {
    const hidden = v === REDACTED;
    const builtin = hidden && !marked.includes(k.toLowerCase());
    const row = h("div", { class: "header-row" },
      h("input", { type: "text", class: "mono hk", placeholder: "Header name", "aria-label": "Header name", value: k }),
      h("input", { type: "text", class: "mono hv", "aria-label": "Header value", autocomplete: "off",
        placeholder: hidden ? "hidden — leave empty to keep it" : "Value", value: hidden ? "" : v }),
      h("label", { class: "check hs-label", title: builtin ? "A credential header: its value is always hidden" : "Hide the value once saved" },
        h("input", { type: "checkbox", class: "hs", checked: hidden, disabled: builtin }), "Secret"),
      h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": "Remove header", onclick: () => row.remove() }, "Remove"));
    if (hidden) row.dataset.kept = "1";
    headerRows.appendChild(row);
  };
  for (const [k, v] of Object.entries(e.headers || {})) addHeader(k, v);

  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "save-endpoint" }, id ? "Save changes" : "Create endpoint");
  const form = h("form", { class: "card", novalidate: true },
    h("div", { class: "field", "data-field": "url" },
      h("label", { for: "ep-url" }, "Endpoint URL"), url,
      h("p", { class: "hint" }, "We POST each event here as JSON, signed so that you can check it came from us.")),
    h("div", { class: "field", "data-field": "description" }, h("label", { for: "ep-description" }, "Description"), description),
    h("fieldset", { "data-field": "event_types" },
      h("legend", {}, "Event types"),
      checks.length ? h("div", { class: "checks" }, checks) : h("p", { class: "muted small" }, "No event types are published yet."),
      h("p", { class: "hint" }, "Leave all unticked to receive every event type, including new ones.")),
    h("div", { class: "field", "data-field": "channels" },
      h("label", { for: "ep-channels" }, "Channels"), channels,
      h("p", { class: "hint" }, "Comma-separated. Leave empty to receive messages of every channel.")),
    h("fieldset", { "data-field": "headers" },
      h("legend", {}, "Custom headers"),
      headerRows,
      h("button", { type: "button", class: "btn btn-sm", id: "add-header", onclick: () => addHeader() }, "Add header"),
      h("p", { class: "hint" }, "Sent with every request to this endpoint, e.g. an extra token your server checks. ",
        "The values of Authorization, Cookie, X-Api-Key and of names ending in -token, -key or -secret are never shown after saving; tick Secret to hide others.")),
    h("div", { class: "field", "data-field": "rate_limit" },
      h("label", { for: "ep-rate" }, "Rate limit (messages per second)"), rateLimit),
    h("div", { class: "form-actions" },
      submit,
      h("a", { class: "btn", href: id ? `#/endpoints/${id}` : "#/endpoints" }, "Cancel")));

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const headers = {};
    const secret = [];
    for (const row of headerRows.children) {
      const k = row.querySelector(".hk").value.trim();
      if (!k) continue;
      const v = row.querySelector(".hv").value;
      headers[k] = v === "" && row.dataset.kept ? REDACTED : v;
      const box = row.querySelector(".hs");
      if (box.checked && !box.disabled) secret.push(k);
    }
    // Marks set through the API for headers not in the form stay.
    const names = Object.keys(headers).map((k) => k.toLowerCase());
    secret.push(...(e.secret_headers || []).filter((n) => !names.includes(n.toLowerCase())));
    const body = {
      url: url.value.trim(),
      description: description.value,
      event_types: checks.map((c) => c.querySelector("input")).filter((i) => i.checked).map((i) => i.value),
      channels: channels.value.split(",").map((s) => s.trim()).filter(Boolean),
      headers,
      secret_headers: secret,
    };
    if (rateLimit.value !== "") body.rate_limit = Number(rateLimit.value);
    busy(submit, async () => {
      try {
        const saved = id ? await patch(t(`/endpoints/${encodeURIComponent(id)}`), body) : await post(t("/endpoints"), body);
        toast(id ? "Changes saved." : "Endpoint created. Its signing secret is on this page.");
        location.hash = `#/endpoints/${saved.id}`;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        showErrors(form, err);
      }
    });
  });

  clear(el,
    h("div", { class: "page-head" },
      h("div", {},
        h("div", { class: "crumbs" }, h("a", { href: "#/endpoints" }, "Endpoints"), id ? [" / ", h("a", { href: `#/endpoints/${id}` }, e.url)] : null),
        h("h1", {}, id ? "Edit endpoint" : "Add an endpoint"))),
    form);
  url.focus();
}

function check(name, desc, checked) {
  return h("label", { class: "check" },
    h("input", { type: "checkbox", value: name, checked, name: "event_types" }),
    h("span", {}, h("code", {}, name), desc ? h("small", {}, desc) : null));
}
