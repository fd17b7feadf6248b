// Tenants, newest first, a page at a time; each can get a portal login
// link to hand to its customer.
import { get, post, query } from "../api.js";
import { h, clear, time, emptyState, toast, busy, copyButton } from "../dom.js";

const PAGE = 25;

export async function tenantsPage(el) {
  const first = await get("/tenants" + query({ limit: PAGE }));
  const head = h("div", { class: "page-head" },
    h("div", {},
      h("h1", {}, "Tenants"),
      h("p", { class: "sub" }, "Your customers, newest first. A portal link logs one of them into the customer portal, once, for a short time.")));
  if (first.data.length === 0) {
    clear(el, head, emptyState("inbox", "No tenants yet",
      "Create one with PUT /api/v1/tenants/{id}; it shows up here."));
    return;
  }
  const body = h("tbody", { id: "tenant-rows" });
  const card = h("div", { class: "card list-card" }, h("div", { class: "table-wrap" }, h("table", { class: "stack-sm data" },
    h("thead", {}, h("tr", {}, h("th", {}, "Tenant"), h("th", {}, "Id"), h("th", {}, "Created"), h("th", {}, ""))),
    body)));
  clear(el, head, card);
  addRows(body, card, first);
}

function addRows(body, card, page) {
  for (const t of page.data) addRow(body, t);
  const old = card.querySelector(".more");
  if (old) old.remove();
  if (page.next_cursor) {
    const btn = h("button", { type: "button", class: "btn", id: "tenants-more" }, "Load more");
    btn.addEventListener("click", () => busy(btn, async () => {
      try {
        addRows(body, card, await get("/tenants" + query({ limit: PAGE, cursor: page.next_cursor })));
      } catch (err) {
        toast(err.message, "bad");
      }
    }));
    card.appendChild(h("div", { class: "more" }, btn));
  }
}

function addRow(body, t) {
  const out = h("tr", { class: "detail-row", hidden: true }, h("td", { colspan: "4" }));
  const mint = h("button", { type: "button", class: "btn btn-sm", dataset: { portalLink: t.id } }, "Portal link");
  mint.addEventListener("click", () => busy(mint, async () => {
    try {
      const link = await post(`/tenants/${encodeURIComponent(t.id)}/portal-links`, {});
      clear(out.firstChild, h("div", { class: "link-result" },
        h("p", { class: "small" }, `A login link for ${t.name || t.id}. It works once, until `, time(link.expires_at), "."),
        h("div", { class: "secret-box" }, h("span", { class: "secret portal-url" }, link.url), copyButton(() => link.url, "Copy"))));
      out.hidden = false;
    } catch (err) {
      toast(err.message, "bad");
    }
  }));
  body.appendChild(h("tr", { dataset: { tenant: t.id } },
    h("td", { "data-label": "Tenant", class: "cell-main" }, h("strong", {}, t.name || t.id)),
    h("td", { "data-label": "Id", class: "mono" }, t.id),
    h("td", { "data-label": "Created" }, time(t.created_at)),
    h("td", {}, h("div", { class: "actions" },
      h("a", { class: "btn btn-sm btn-ghost", href: "#/deliveries" + query({ status: "failed", tenant_id: t.id }) }, "Failed deliveries"),
      mint))));
  body.appendChild(out);
}
