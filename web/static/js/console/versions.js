// Event type versions, for operators: each event type with more than one
// version (or a deprecated one), every version with what changed and its
// deprecation, and the endpoints, of every tenant, that still pin it.
import { get, all, query, mapLimit } from "../api.js";
import { h, clear, time, pill, emptyState, toast, busy } from "../dom.js";
import { versionsOf, isDeprecated } from "../pages/versions.js";
import { num } from "./common.js";

const PAGE = 100;

export async function versionsPage(el) {
  const types = (await all("/event-types?include_archived=true"))
    .filter((et) => versionsOf(et).length > 1 || versionsOf(et).some((v) => v.deprecated_at));
  const head = h("div", { class: "page-head" },
    h("div", {},
      h("h1", {}, "Event type versions"),
      h("p", { class: "sub" }, "Event types with several versions, and the endpoints that pin each version. "
        + "Before a deprecated version goes, the endpoints that still use it must move.")),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "btn", onclick: () => versionsPage(el) }, "Refresh")));
  if (types.length === 0) {
    clear(el, head, emptyState("book", "No versioned event types",
      "Add a version with PATCH /api/v1/event-types/{name} and \"versions\"; it shows up here with who pins it."));
    return;
  }
  types.sort((a, b) => a.name.localeCompare(b.name));
  // Who pins each version: one list per version, a few at a time.
  const jobs = types.flatMap((et) => versionsOf(et).map((v) => ({ et, v })));
  const pages = await mapLimit(jobs, 4, ({ et, v }) =>
    get(`/event-types/${encodeURIComponent(et.name)}/versions/${v.version}/endpoints` + query({ limit: PAGE })));
  const users = new Map(jobs.map((j, i) => [`${j.et.name}@${j.v.version}`, pages[i]]));
  clear(el, head, h("div", { class: "stack" }, types.map((et) => typeCard(et, users))));
}

function typeCard(et, users) {
  const rows = versionsOf(et).reverse().flatMap((v) => versionRows(et, v, users.get(`${et.name}@${v.version}`)));
  return h("section", { class: "card list-card", dataset: { eventType: et.name } },
    h("div", { class: "card-head list-card-head" },
      h("h2", {}, h("code", {}, et.name)),
      et.archived ? pill("archived", "") : null),
    h("div", { class: "table-wrap" }, h("table", { class: "stack-sm data" },
      h("thead", {}, h("tr", {},
        h("th", {}, "Version"), h("th", {}, "State"), h("th", {}, "What changed"), h("th", {}, "Pinned by"), h("th", {}, ""))),
      h("tbody", {}, rows))));
}

function versionRows(et, v, page) {
  const failed = page instanceof Error;
  const count = failed ? null : page.data.length;
  const more = !failed && page.next_cursor;
  let state;
  if (v.version === et.version) state = pill("latest", "ok");
  else if (v.deprecated_at) {
    state = h("div", {}, pill(isDeprecated(v) ? "deprecated" : "to be deprecated", "warn"),
      h("div", { class: "reason" }, isDeprecated(v) ? "since " : "on ", time(v.deprecated_at)));
  } else state = pill("supported", "");
  let pinned;
  if (failed) pinned = h("span", { class: "form-error" }, page.message);
  else if (count === 0) pinned = h("span", { class: "muted" }, "no endpoint");
  else {
    const one = count === 1 && !more;
    const text = `${num(count)}${more ? "+" : ""} endpoint${one ? "" : "s"}`;
    pinned = isDeprecated(v) ? pill(`${text} still ${one ? "uses" : "use"} it`, "warn") : h("span", {}, text);
  }
  const detail = h("tr", { class: "detail-row", hidden: true, dataset: { pinnedBy: `${et.name}@${v.version}` } },
    h("td", { colspan: "5" }));
  const show = h("button", { type: "button", class: "btn btn-sm", dataset: { showPinned: `${et.name}@${v.version}` } }, "Show endpoints");
  show.addEventListener("click", () => {
    if (!detail.hidden) {
      detail.hidden = true;
      show.textContent = "Show endpoints";
      return;
    }
    clear(detail.firstChild, endpointList(et, v, page));
    detail.hidden = false;
    show.textContent = "Hide endpoints";
  });
  return [
    h("tr", { dataset: { version: `${et.name}@${v.version}` } },
      h("td", { "data-label": "Version", class: "cell-main" }, h("strong", {}, `v${v.version}`)),
      h("td", { "data-label": "State" }, state),
      h("td", { "data-label": "What changed" }, v.changes || h("span", { class: "muted" }, "—")),
      h("td", { "data-label": "Pinned by" }, pinned),
      h("td", {}, count ? show : null)),
    detail,
  ];
}

// endpointList lists the endpoints of a page, with a button for the next.
function endpointList(et, v, first) {
  const body = h("tbody", {});
  const box = h("div", { class: "pinned-list" }, h("div", { class: "table-wrap" }, h("table", { class: "stack-sm" },
    h("thead", {}, h("tr", {}, h("th", {}, "Tenant"), h("th", {}, "Endpoint"), h("th", {}, "Since"), h("th", {}, ""))),
    body)));
  const add = (page) => {
    for (const e of page.data) {
      body.appendChild(h("tr", { dataset: { endpoint: e.id } },
        h("td", { "data-label": "Tenant", class: "mono" }, e.tenant_id),
        h("td", { "data-label": "Endpoint", class: "mono" }, e.url, e.disabled ? [" ", pill("disabled", "warn")] : null),
        h("td", { "data-label": "Since" }, time(e.created_at)),
        h("td", {}, h("a", { class: "btn btn-sm btn-ghost", href: "#/deliveries" + query({ tenant_id: e.tenant_id, endpoint_id: e.id }) },
          "Deliveries"))));
    }
    const old = box.querySelector(".more");
    if (old) old.remove();
    if (page.next_cursor) {
      const btn = h("button", { type: "button", class: "btn btn-sm" }, "Load more");
      btn.addEventListener("click", () => busy(btn, async () => {
        try {
          add(await get(`/event-types/${encodeURIComponent(et.name)}/versions/${v.version}/endpoints`
            + query({ limit: PAGE, cursor: page.next_cursor })));
        } catch (err) {
          toast(err.message, "bad");
        }
      }));
      box.appendChild(h("div", { class: "more" }, btn));
    }
  };
  add(first);
  return box;
}
