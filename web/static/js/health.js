// Endpoint health, as the portal and the console both show it: the state
// (healthy, failing, disabled) with since when, the circuit breaker when it
// is not closed, and the messages parked for a disabled endpoint. Each
// comes from the endpoint's JSON (health, circuit, parked_count).
import { h, fmtTime, ago, pill } from "./dom.js";

const labels = { healthy: "Healthy", failing: "Failing", disabled: "Disabled" };
const kinds = { healthy: "ok", failing: "warn", disabled: "bad" };

// healthState is the endpoint's state: healthy, failing or disabled.
export function healthState(e) {
  return (e.health && e.health.state) || (e.disabled ? "disabled" : "healthy");
}

// healthSince is when the state began (null when healthy).
export function healthSince(e) {
  return (e.health && e.health.since) || (e.disabled ? e.disabled_at : null);
}

// recentFailures tells whether a healthy endpoint's latest attempts failed
// (a run of failures too short yet to make it failing).
export function recentFailures(e) {
  return healthState(e) === "healthy" && Boolean(e.health && e.health.failing_since);
}

// healthPill is the state as a coloured label. A healthy endpoint whose
// latest attempts failed reads "Recent failures", in grey.
export function healthPill(e) {
  const state = healthState(e);
  const titles = {
    healthy: "Deliveries are going through",
    failing: "Every attempt has failed for a while; we keep retrying",
    disabled: "Nothing is sent to it until it is enabled",
  };
  const el = recentFailures(e)
    ? pill("Recent failures", "", "Its latest attempts failed. It counts as failing once every attempt has failed for a while.")
    : pill(labels[state] || state, kinds[state] || "", titles[state]);
  el.dataset.health = state;
  return el;
}

// when is a <time>: the local time (without the date when it is today)
// and how long ago (brief: on hover only, with the exact time).
export function when(s, brief) {
  if (!s) return h("span", { class: "muted" }, "—");
  const d = new Date(s);
  const today = d.toDateString() === new Date().toDateString();
  const short = today
    ? d.toLocaleTimeString(undefined, { timeStyle: "short" })
    : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  return h("time", { datetime: s, title: `${fmtTime(s)} (${ago(s)})` }, brief ? short : `${short} (${ago(s)})`);
}

// sinceLine says since when the state holds: "since …" (brief: for a list
// row). A healthy endpoint whose recent attempts failed says so too.
export function sinceLine(e, brief) {
  const state = healthState(e);
  const since = healthSince(e);
  if (state !== "healthy") return since ? h("span", { class: "since" }, "since ", when(since, brief)) : null;
  if (recentFailures(e)) return h("span", { class: "since" }, "since ", when(e.health.failing_since, brief));
  return null;
}

// circuitOpen tells whether the circuit breaker holds sending back.
export function circuitOpen(e) {
  return Boolean(e.circuit && e.circuit.state && e.circuit.state !== "closed");
}

// circuitText describes a circuit that is not closed, or is null; brief,
// for a list row, is its state since when, and why on two lines at most.
export function circuitText(e, brief) {
  if (!circuitOpen(e)) return null;
  const c = e.circuit;
  if (brief) {
    return h("span", { class: "circuit", dataset: { circuit: c.state } },
      h("strong", {}, c.state === "half_open" ? "Circuit half-open" : "Circuit open"), c.since ? [" since ", when(c.since, true)] : null,
      c.reason ? h("span", { class: "clamp", title: c.reason }, c.reason) : null);
  }
  const what = c.state === "half_open"
    ? "Circuit half-open: one trial request is going out to see whether it recovered"
    : "Circuit open: sending is paused, one trial request goes now and then";
  return h("span", { class: "circuit", dataset: { circuit: c.state } },
    h("strong", {}, what), c.since ? [" · since ", when(c.since)] : null, c.reason ? ` · ${c.reason}` : null);
}

const num = (n) => new Intl.NumberFormat().format(n);

// messages is "1 message" or "3 messages".
export function messages(n) {
  return `${num(n)} ${n === 1 ? "message" : "messages"}`;
}

// waitingMessages is "1 waiting message" or "3 waiting messages".
export function waitingMessages(n) {
  return `${num(n)} waiting ${n === 1 ? "message" : "messages"}`;
}

// waitingText is "3 messages are waiting for this endpoint".
export function waitingText(n) {
  return `${messages(n)} ${n === 1 ? "is" : "are"} waiting for this endpoint`;
}
