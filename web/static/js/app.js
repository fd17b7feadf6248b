// The customer portal: loads the session, then routes on the URL's hash.
import { session, get, post, onSessionEnded, canChange, ApiError } from "./api.js";
import { h, clear, emptyState, toast } from "./dom.js";
import { embedded, embedLogin, forget } from "./embed.js";
import { endpointsPage, endpointFormPage } from "./pages/endpoints.js";
import { endpointPage } from "./pages/endpoint.js";
import { messagesPage, messagePage } from "./pages/messages.js";
import { catalogPage } from "./pages/catalog.js";
import { verifyPage } from "./pages/verify.js";

const main = document.getElementById("main");

// Routes: a hash pattern (":id" matches one segment) and its page.
const routes = [
  ["endpoints", "endpoints", endpointsPage],
  ["endpoints/new", "endpoints", changes((el, p, q) => endpointFormPage(el, null, q))],
  ["endpoints/:id", "endpoints", (el, p, q) => endpointPage(el, p.id, q)],
  ["endpoints/:id/edit", "endpoints", changes((el, p, q) => endpointFormPage(el, p.id, q))],
  ["messages", "messages", messagesPage],
  ["messages/:id", "messages", (el, p, q) => messagePage(el, p.id, q)],
  ["event-types", "event-types", catalogPage],
  ["verify", "verify", verifyPage],
];

// changes guards a page that changes things: a read-only session gets a
// notice instead.
function changes(page) {
  return (el, p, q) => {
    if (canChange()) return page(el, p, q);
    clear(el, emptyState("lock", "This view is read-only",
      "You can look at your endpoints and deliveries here, but not change them.",
      h("a", { class: "btn btn-primary", href: "#/endpoints" }, "Back to endpoints")));
  };
}

function match(path) {
  const parts = path.split("/").filter(Boolean);
  for (const [pattern, nav, page] of routes) {
    const want = pattern.split("/");
    if (want.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < want.length; i++) {
      if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(parts[i]);
      else if (want[i] !== parts[i]) ok = false;
    }
    if (ok) return { nav, page, params };
  }
  return null;
}

let ended = false;

async function route() {
  if (ended) return;
  const raw = location.hash.replace(/^#\/?/, "");
  if (!raw) {
    location.replace("#/endpoints");
    return;
  }
  const [path, qs] = raw.split("?");
  const q = new URLSearchParams(qs || "");
  const m = match(path);
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (m && a.dataset.nav === m.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  // Each page renders into its own element, so that a slow answer for a
  // page the user has left lands nowhere visible.
  const el = h("div", { class: "page" }, h("div", { class: "loading", role: "status" }, "Loading…"));
  clear(main, el);
  window.scrollTo(0, 0);
  if (!m) {
    clear(el, emptyState("compass", "Page not found", "There is no page at this address.",
      h("a", { class: "btn btn-primary", href: "#/endpoints" }, "Go to endpoints")));
    return;
  }
  try {
    await m.page(el, m.params, q);
  } catch (err) {
    if (ended) return;
    clear(el, errorState(err));
  }
}

// errorState shows what went wrong loading a page.
export function errorState(err) {
  if (err instanceof ApiError && err.status === 404) {
    return emptyState("search", "Not found",
      "What this page shows does not exist, or it belongs to another account.",
      [h("p", { class: "small" }, err.message || ""),
        h("a", { class: "btn btn-primary", href: "#/endpoints" }, "Back to endpoints")]);
  }
  return emptyState("alert", "Something went wrong", err && err.message ? err.message : String(err),
    h("button", { type: "button", class: "btn", onclick: () => route() }, "Try again"));
}

// endSession replaces the portal by a notice: the session has ended, or
// (expired) the link could not log in.
function endSession(expired) {
  if (ended) return;
  ended = true;
  if (embedded) forget();
  document.body.classList.add("ended");
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("read-only").hidden = true;
  document.getElementById("tenant-name").textContent = "";
  const again = embedded ? "Reload the page to open it again." : "Ask for a new portal link to log in again.";
  clear(main, expired === true
    ? emptyState("lock", "This link has expired", "Portal links work only once and only for a short time. " + again)
    : emptyState("lock", "Your session has ended",
      "You logged out, the session expired or it was ended for you. " + again));
}

// applyBranding sets the accent colour (and the colour of text on it) and
// the theme, as CSS variables.
function applyBranding(b) {
  if (!b) return;
  const root = document.documentElement;
  if (/^#[0-9a-fA-F]{6}$/.test(b.accent_color || "")) {
    root.style.setProperty("--accent", b.accent_color);
    root.style.setProperty("--on-accent", onAccent(b.accent_color));
  }
  if (b.dark) root.dataset.theme = "dark";
}

// onAccent is white or near-black, whichever reads better on colour (as
// the server's theme.css decides).
function onAccent(color) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 > 0.6 ? "#111827" : "#ffffff";
}

async function start() {
  if (embedded) {
    document.querySelector(".brand").setAttribute("href", "#/endpoints");
    let login;
    try {
      login = await embedLogin();
    } catch (err) {
      clear(main, errorState(err));
      return;
    }
    if (login !== "ok") {
      endSession(login === "expired");
      return;
    }
  }
  onSessionEnded(endSession);
  try {
    const s = await get("/portal/session");
    session.tenantID = s.tenant_id;
    session.tenantName = s.tenant_name || s.tenant_id;
    session.csrf = s.csrf_token;
    session.expiresAt = s.expires_at;
    session.branding = s.branding;
    session.readOnly = s.read_only;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      endSession();
      return;
    }
    clear(main, errorState(err));
    return;
  }
  applyBranding(session.branding);
  document.getElementById("tenant-name").textContent = session.tenantName;
  document.getElementById("read-only").hidden = canChange();
  const logout = document.getElementById("logout");
  logout.hidden = embedded; // the page it is embedded in logs in and out
  logout.addEventListener("click", async () => {
    try {
      await post("/portal/logout");
    } catch (err) {
      toast(err.message, "bad");
      return;
    }
    endSession();
  });
  window.addEventListener("hashchange", route);
  route();
}

// The embedded page stays hidden until it has its theme (portal.css).
start().finally(() => {
  document.documentElement.dataset.ready = "";
});
