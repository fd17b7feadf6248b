// The operator console: asks for an admin key, keeps it in sessionStorage
// (this tab only, gone when it closes), sends it as a bearer key to the
// public API and routes on the URL's hash. No cookie is involved, so there
// is nothing to forge across sites.
import { session, get, onSessionEnded, ApiError } from "./api.js";
import { h, clear, emptyState } from "./dom.js";
import { failingPage } from "./console/failing.js";
import { deliveriesPage } from "./console/deliveries.js";
import { replayPage } from "./console/replay.js";
import { tenantsPage } from "./console/tenants.js";
import { queuePage } from "./console/queue.js";
import { operationalPage } from "./console/operational.js";
import { versionsPage } from "./console/versions.js";

const KEY = "hookd.console.key";
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const logoutBtn = document.getElementById("logout");
const who = document.getElementById("who");

const routes = {
  failing: failingPage,
  deliveries: deliveriesPage,
  replay: replayPage,
  tenants: tenantsPage,
  queue: queuePage,
  operational: operationalPage,
  versions: versionsPage,
};

let signedIn = false;

async function route() {
  if (!signedIn) return;
  const raw = location.hash.replace(/^#\/?/, "");
  if (!raw) {
    location.replace("#/failing");
    return;
  }
  const [path, qs] = raw.split("?");
  const q = new URLSearchParams(qs || "");
  const page = routes[path];
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === path) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  // Each page renders into its own element: a slow answer for a page the
  // operator has left lands nowhere visible, and polling stops with it.
  const el = h("div", { class: "page" }, h("div", { class: "loading", role: "status" }, "Loading…"));
  clear(main, el);
  window.scrollTo(0, 0);
  if (!page) {
    clear(el, emptyState("compass", "Page not found", "There is no page at this address.",
      h("a", { class: "btn btn-primary", href: "#/failing" }, "Go to failing endpoints")));
    return;
  }
  try {
    await page(el, q);
  } catch (err) {
    if (!signedIn || !el.isConnected) return;
    clear(el, errorState(err));
  }
}

// errorState shows what went wrong loading a page.
export function errorState(err) {
  return emptyState("alert", "Something went wrong", err && err.message ? err.message : String(err),
    h("button", { type: "button", class: "btn", onclick: () => route() }, "Try again"));
}

// verify checks that key is an admin key with a cheap admin-only call and
// returns what is wrong with it, or "" when it is good.
async function verify(key) {
  session.bearer = key;
  try {
    await get("/tenants?limit=1");
    return "";
  } catch (err) {
    session.bearer = "";
    if (err instanceof ApiError && err.status === 403) {
      return "That is a tenant key. The console needs an admin key (it starts with hk_admin_).";
    }
    if (err instanceof ApiError && err.status === 401) {
      return "That key is not valid: it is unknown or was revoked. Check it and try again.";
    }
    return err.message || String(err);
  }
}

function enter(key) {
  sessionStorage.setItem(KEY, key);
  signedIn = true;
  document.body.classList.remove("signed-out");
  nav.hidden = false;
  logoutBtn.hidden = false;
  who.textContent = "Admin";
  route();
}

// showLogin replaces the console by the login form, with a notice.
function showLogin(notice, kind) {
  signedIn = false;
  session.bearer = "";
  sessionStorage.removeItem(KEY);
  document.body.classList.add("signed-out");
  nav.hidden = true;
  logoutBtn.hidden = true;
  who.textContent = "";
  const input = h("input", { type: "password", id: "admin-key", name: "admin-key", class: "mono", autocomplete: "off",
    spellcheck: "false", placeholder: "hk_admin_…", required: true, "aria-describedby": "key-hint" });
  const btn = h("button", { type: "submit", class: "btn btn-primary", id: "login" }, "Log in");
  const err = h("div", { class: "form-error", role: "alert", id: "login-error", hidden: true });
  const form = h("form", { class: "card login", novalidate: true },
    h("div", { class: "empty-icon" }, lockIcon()),
    h("h1", {}, "Operator console"),
    h("p", { class: "muted" }, "Failing endpoints, failed deliveries, bulk replays, tenants and the queue, across every tenant."),
    notice ? h("div", { class: `result ${kind || ""}`, id: "login-notice" }, notice) : null,
    err,
    h("div", { class: "field" },
      h("label", { for: "admin-key" }, "Admin key"),
      input,
      h("p", { class: "hint", id: "key-hint" },
        "The key ", h("code", {}, "hookd dev"), " printed (", h("code", {}, "HOOKD_ADMIN_KEY"),
        ") or another admin key. It is kept in this tab only, until you log out or close the tab.")),
    h("div", { class: "form-actions" }, btn));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    err.hidden = true;
    input.removeAttribute("aria-invalid");
    if (!key) {
      err.textContent = "Enter an admin key.";
      err.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    btn.disabled = true;
    btn.textContent = "Checking…";
    const problem = await verify(key);
    btn.disabled = false;
    btn.textContent = "Log in";
    if (problem) {
      err.textContent = problem;
      err.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.select();
      return;
    }
    if (!location.hash || location.hash === "#/") history.replaceState(null, "", "#/failing");
    enter(key);
  });
  clear(main, form);
  input.focus();
}

function lockIcon() {
  const box = emptyState("lock", "", "");
  return box.querySelector("svg");
}

async function start() {
  onSessionEnded(() => {
    if (signedIn) showLogin("The key stopped working (it may have been revoked). Log in again.", "bad");
  });
  logoutBtn.addEventListener("click", () => {
    history.replaceState(null, "", "/console");
    showLogin("You logged out. The key is gone from this tab.", "ok");
  });
  window.addEventListener("hashchange", route);
  const key = sessionStorage.getItem(KEY);
  if (!key) {
    showLogin();
    return;
  }
  const problem = await verify(key);
  if (problem) {
    showLogin(problem, "bad");
    return;
  }
  enter(key);
}

start();
