// The event catalog: every event type that is published, with its
// description, JSON Schema and example payload.
import { all } from "../api.js";
import { h, clear, pretty, codeBlock, emptyState } from "../dom.js";

export async function catalogPage(el) {
  const types = await all("/event-types");
  const head = h("div", { class: "page-head" },
    h("div", {},
      h("h1", {}, "Event catalog"),
      h("p", { class: "sub" }, "The events you can receive. Subscribe an endpoint to some of them, or to all.")));
  if (types.length === 0) {
    clear(el, head, emptyState("book", "No event types yet", "When events are published, they are described here."));
    return;
  }
  types.sort((a, b) => a.name.localeCompare(b.name));
  clear(el, head,
    h("div", { class: "stack" }, types.map((et) => h("section", { class: "card", id: "et-" + et.name, dataset: { eventType: et.name } },
      h("h2", {}, h("code", {}, et.name)),
      h("p", { class: et.description ? "" : "muted" }, et.description || "No description."),
      h("div", { class: "grid2" },
        h("div", {}, h("h3", {}, "Example payload"),
          et.example ? codeBlock(pretty(et.example)) : h("p", { class: "muted small" }, "No example; a test event sends {}.")),
        h("div", {}, h("h3", {}, "Schema"),
          et.schema ? codeBlock(pretty(et.schema)) : h("p", { class: "muted small" }, "No schema: the payload is any JSON object.")))))));
}
