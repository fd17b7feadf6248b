// The event catalog: every event type that is published, with its
// description and, for each of its versions, the JSON Schema, the example
// payload and what changed; deprecated versions say since when.
import { all } from "../api.js";
import { h, clear, pretty, codeBlock, emptyState, pill, fmtTime } from "../dom.js";
import { versionsOf, isDeprecated } from "./versions.js";

export async function catalogPage(el) {
  const types = await all("/event-types");
  const head = h("div", { class: "page-head" },
    h("div", {},
      h("h1", {}, "Event catalog"),
      h("p", { class: "sub" }, "The events you can receive. Subscribe an endpoint to some of them, or to all. "
        + "Events with several versions are sent in the latest, unless an endpoint pins another on its page.")));
  if (types.length === 0) {
    clear(el, head, emptyState("book", "No event types yet", "When events are published, they are described here."));
    return;
  }
  types.sort((a, b) => a.name.localeCompare(b.name));
  clear(el, head, h("div", { class: "stack" }, types.map(eventTypeCard)));
}

function eventTypeCard(et) {
  const versions = versionsOf(et).reverse(); // newest first
  const panel = h("div", { class: "version-panel" });
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": `Versions of ${et.name}` });
  const show = (v) => {
    for (const t of tabs.children) t.setAttribute("aria-selected", String(t.dataset.version === String(v.version)));
    clear(panel, versionView(et, v, versions.length > 1));
  };
  for (const v of versions) {
    const tab = h("button", { type: "button", class: "tab", role: "tab", dataset: { version: String(v.version) } },
      `v${v.version}`, v.version === et.version ? " · latest" : isDeprecated(v) ? " · deprecated" : "");
    tab.addEventListener("click", () => show(v));
    tabs.appendChild(tab);
  }
  show(versions[0]);
  return h("section", { class: "card", id: "et-" + et.name, dataset: { eventType: et.name } },
    h("div", { class: "card-head" },
      h("h2", {}, h("code", {}, et.name)),
      versions.length > 1 ? pill(`${versions.length} versions`, "plain", "versions of this event") : null),
    h("p", { class: et.description ? "" : "muted" }, et.description || "No description."),
    versions.length > 1 ? tabs : null,
    panel);
}

function versionView(et, v, several) {
  const latest = several && v.version === et.version;
  return h("div", { dataset: { version: String(v.version) } },
    h("p", { class: "version-line small" },
      h("strong", {}, `Version ${v.version}`),
      latest ? pill("latest", "ok") : null,
      v.deprecated_at ? pill(isDeprecated(v) ? "deprecated" : "to be deprecated", "warn") : null,
      v.deprecated_at ? h("span", { class: "muted" }, `${isDeprecated(v) ? "since" : "on"} ${fmtTime(v.deprecated_at)}`) : null),
    v.changes ? h("p", { class: "version-changes" }, h("span", { class: "muted" }, "What changed: "), v.changes) : null,
    v.deprecated_at ? h("div", { class: "result warn small", role: "note" },
      `Version ${v.version} is ${isDeprecated(v) ? "deprecated" : "deprecated from " + fmtTime(v.deprecated_at)}. `,
      `Endpoints that pin it should move to version ${et.version}.`) : null,
    h("div", { class: "grid2" },
      h("div", {}, h("h3", {}, "Example payload"),
        v.example ? codeBlock(pretty(v.example)) : h("p", { class: "muted small" }, "No example; a test event sends {}.")),
      h("div", {}, h("h3", {}, "Schema"),
        v.schema ? codeBlock(pretty(v.schema)) : h("p", { class: "muted small" }, "No schema: the payload is any JSON object."))));
}
