// The web pages' client of hookd's public JSON API. The portal's browser
// sends the session cookie, and its state-changing requests carry the
// session's CSRF token. The console sends an admin key as a bearer key
// instead (session.bearer), and no cookie; so does the embedded portal,
// with its session token.

export const session = {
  bearer: "",
  tenantID: "",
  tenantName: "",
  csrf: "",
  expiresAt: "",
  branding: null,
  readOnly: false, // the session may look but not change anything
};

// canChange tells whether the session may change things: pages leave out
// the controls that would, as the API would refuse them.
export function canChange() {
  return !session.readOnly;
}

// ApiError is a problem+json answer (or a network failure, status 0).
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `request failed (${status})`);
    this.status = status;
    this.problem = problem || {};
  }
}

// onSessionEnded is called when the API says the session is over (401).
let sessionEnded = () => {};
export function onSessionEnded(fn) {
  sessionEnded = fn;
}

// request calls the API: path is under /api/v1; body, when given, is sent
// as JSON. It resolves to the parsed answer (null for 204) or throws ApiError.
export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (session.bearer) headers.Authorization = "Bearer " + session.bearer;
  else if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = session.csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch("/api/v1" + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: session.bearer ? "omit" : "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, { detail: "The server could not be reached. Check your connection and try again." });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 300) };
  }
  if (!res.ok) {
    if (res.status === 401) sessionEnded();
    throw new ApiError(res.status, data);
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body === undefined ? {} : body);
export const patch = (path, body) => request("PATCH", path, body);
export const del = (path) => request("DELETE", path);

// t is the path of the session's tenant: t("/endpoints").
export function t(path) {
  return "/tenants/" + encodeURIComponent(session.tenantID) + path;
}

// query builds "?a=1&b=2" from the set values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

// all reads every page of a list (up to max rows).
export async function all(path, max = 1000) {
  const out = [];
  let cursor = "";
  const sep = path.includes("?") ? "&" : "?";
  do {
    const page = await get(path + sep + "limit=250" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    out.push(...page.data);
    cursor = page.next_cursor || "";
  } while (cursor && out.length < max);
  return out;
}

// mapLimit runs fn over items with at most n at once.
export async function mapLimit(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        out[i] = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
