// The portal embedded in another site's page (/portal/embed, in an
// iframe). It logs in with the token in its URL's fragment, which it
// exchanges for a session token; the token is kept in this tab
// (sessionStorage, when the browser lets the frame have it, else only in
// memory) and sent as a bearer token. There is no cookie: browsers that
// block third-party cookies would not send one to a frame, and with no
// ambient credential no other page can make requests in the session's name.
import { session, request, ApiError } from "./api.js";

export const embedded = document.documentElement.dataset.mode === "embed";

const KEY = "hookd.portal.session-token";

function remember(token) {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // No storage for this frame: the session lasts as long as the page.
  }
}

function recall() {
  try {
    return sessionStorage.getItem(KEY) || "";
  } catch {
    return "";
  }
}

// embedLogin sets session.bearer from the link's token or from this tab's
// earlier login. It resolves to "ok", "expired" (the link cannot be used)
// or "none" (no token at all).
export async function embedLogin() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!token) {
    session.bearer = recall();
    return session.bearer ? "ok" : "none";
  }
  // The token leaves the address at once, so that neither the history nor
  // a reload shows it.
  history.replaceState(null, "", location.pathname + location.search + "#/endpoints");
  try {
    const s = await request("POST", "/portal/sessions", { token });
    session.bearer = s.session_token;
    remember(s.session_token);
    return "ok";
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 422)) return "expired";
    throw err;
  }
}

// forget drops the session token (the session has ended).
export function forget() {
  session.bearer = "";
  remember("");
}
