// Payload versions on the endpoint page: which version of each event the
// endpoint is sent, a warning when it pins a deprecated one, and how to
// move: pick a version, send a test event of it, and pin it once the
// endpoint accepted the test. The catalog uses versionsOf too.
import { get, post, patch, t, canChange, ApiError } from "../api.js";
import { h, clear, pill, codeText, fmtTime, busy, toast, sleep } from "../dom.js";

// versionsOf lists the versions of an event type, oldest first, each with
// its number in .version.
export function versionsOf(et) {
  const vs = Object.entries(et.versions || {}).map(([n, v]) => ({ ...v, version: Number(n) }));
  if (vs.length === 0) vs.push({ version: et.version || 1, schema: et.schema, example: et.example, changes: "", deprecated_at: null });
  return vs.sort((a, b) => a.version - b.version);
}

// isDeprecated tells whether a version is deprecated by now.
export function isDeprecated(v) {
  return !!v && !!v.deprecated_at && new Date(v.deprecated_at).getTime() <= Date.now();
}

function versionOf(et, n) {
  return versionsOf(et).find((v) => v.version === n);
}

function wanted(e, name) {
  if (e.event_types.length === 0) return true;
  return e.event_types.some((f) => f === name || f === "*" || (f.endsWith(".*") && name.startsWith(f.slice(0, -1))));
}

// deprecationBanner warns, at the top of the endpoint page, of the
// deprecated versions the endpoint pins (null when it pins none).
export function deprecationBanner(e, types) {
  const byName = new Map(types.map((et) => [et.name, et]));
  const notes = [];
  for (const [name, n] of Object.entries(e.version_pins || {})) {
    const et = byName.get(name);
    const v = et && versionOf(et, n);
    if (!v || !v.deprecated_at) continue;
    const when = isDeprecated(v) ? `deprecated since ${fmtTime(v.deprecated_at)}` : `to be deprecated on ${fmtTime(v.deprecated_at)}`;
    notes.push(h("div", {}, "It is pinned to ", h("code", {}, name), ` version ${n}, ${when}. Move it to version ${et.version} under Payload versions below.`));
  }
  if (notes.length === 0) return null;
  return h("div", { class: "result warn", role: "status", id: "version-warning" },
    h("strong", {}, notes.length === 1 ? "A deprecated version. " : "Deprecated versions. "), notes);
}

// versionsCard shows and changes the versions the endpoint is sent: one row
// per event type it gets that has several versions (or that it pins).
// reload redraws the page after a change, sent is called after a test
// event's answer. null when there is nothing to show.
export function versionsCard(e, path, types, reload, sent) {
  const pins = e.version_pins || {};
  const rows = types.filter((et) => !et.archived && wanted(e, et.name) && (versionsOf(et).length > 1 || pins[et.name]));
  if (rows.length === 0) return null;
  return h("section", { class: "card", id: "versions" },
    h("h2", {}, "Payload versions"),
    h("p", { class: "muted small" },
      "The version of each event this endpoint is sent, in the ", h("code", {}, "webhook-version"), " header too. ",
      "Pinned, it stays on that version when a new one comes out; otherwise it gets the latest. ",
      "To move, send a test event of the version you want, then switch once your endpoint accepted it."),
    h("div", { class: "version-rows" }, rows.map((et) => versionRow(e, path, et, reload, sent || (() => {})))));
}

function versionRow(e, path, et, reload, sent) {
  const pins = e.version_pins || {};
  const pinned = pins[et.name] || null;
  const current = pinned ? versionOf(et, pinned) : null;
  const now = pinned
    ? [`version ${pinned}`, pill("pinned", "plain"), isDeprecated(current) ? pill("deprecated", "warn") : null]
    : [`the latest, version ${et.version}`];
  const row = h("div", { class: "version-row", dataset: { versionRow: et.name } },
    h("div", { class: "version-what" },
      h("code", {}, et.name),
      h("div", { class: "small" }, h("span", { class: "muted" }, "Sent: "), now),
      current && current.deprecated_at
        ? h("div", { class: "small reason" }, `Version ${pinned} is ${isDeprecated(current) ? "deprecated since" : "to be deprecated on"} ${fmtTime(current.deprecated_at)}.`)
        : null));
  if (!canChange()) return row;

  const pick = h("select", { "aria-label": `Version of ${et.name} to send`, dataset: { versionPick: et.name } },
    h("option", { value: "latest" }, `The latest (now ${et.version}), and newer ones`),
    versionsOf(et).reverse().map((v) => h("option", { value: String(v.version) },
      `Version ${v.version}${v.version === et.version ? " (latest)" : ""}${isDeprecated(v) ? " (deprecated)" : ""}`)));
  // A deprecated pin: suggest the latest.
  pick.value = pinned && !isDeprecated(current) ? String(pinned) : pinned ? String(et.version) : "latest";
  const test = h("button", { type: "button", class: "btn btn-sm", dataset: { versionTest: et.name } }, "Send test event");
  const apply = h("button", { type: "button", class: "btn btn-sm btn-primary", dataset: { versionPin: et.name }, disabled: true }, "Switch");
  const result = h("div", { class: "version-result", role: "status", dataset: { versionResult: et.name } });
  let tested = ""; // the choice whose test the endpoint accepted

  const choice = () => pick.value; // "latest" or a number
  const same = () => (choice() === "latest" ? !pinned : Number(choice()) === pinned);
  const label = () => {
    if (same()) return pinned ? `Pinned to ${pinned}` : "Following the latest";
    return choice() === "latest" ? "Follow the latest" : `Pin version ${choice()}`;
  };
  const update = () => {
    apply.textContent = label();
    apply.disabled = same() || tested !== choice();
  };
  const note = () => clear(result, same() ? h("p", { class: "muted small" }, "This is what it is sent now.") : null);
  pick.addEventListener("change", () => {
    tested = "";
    note();
    update();
  });

  test.addEventListener("click", () => busy(test, async () => {
    const want = choice() === "latest" ? et.version : Number(choice());
    clear(result, h("div", { class: "result small" }, `Sending the example of version ${want}…`));
    let msg;
    try {
      msg = await post(path + "/test", { event_type: et.name, version: want });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      clear(result, h("div", { class: "result bad small" }, err.message));
      return;
    }
    const tried = choice();
    const d = await answer(msg.message_id, e.id, result);
    if (!d) return;
    sent();
    const link = h("a", { href: `#/messages/${msg.message_id}` }, "See it in the delivery log");
    if (d.status === "succeeded") {
      clear(result, h("div", { class: "result ok small" },
        h("strong", {}, "Accepted"), ` — your endpoint answered version ${want} with ${codeText(d.last_status_code)}. `,
        same() ? "" : `${label()} to switch. `, link));
      if (choice() === tried) tested = tried;
    } else {
      const how = d.last_status_code ? `answered ${codeText(d.last_status_code)}` : "did not answer";
      clear(result, h("div", { class: "result bad small" },
        h("strong", {}, "Not accepted"), ` — your endpoint ${how} to version ${want}. Make it handle version ${want} before you switch. `, link));
    }
    update();
  }));

  apply.addEventListener("click", () => busy(apply, async () => {
    const next = { ...pins };
    if (choice() === "latest") delete next[et.name];
    else next[et.name] = Number(choice());
    try {
      await patch(path, { version_pins: next });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      clear(result, h("div", { class: "result bad small" }, err.message));
      return;
    }
    toast(choice() === "latest" ? `${et.name}: sent the latest version from now on.` : `${et.name}: pinned to version ${choice()}.`);
    await reload();
  }));

  update();
  note();
  row.appendChild(h("div", { class: "version-controls" }, pick, test, apply));
  row.appendChild(result);
  return row;
}

// answer waits for the first answer to a test message at the endpoint and
// returns its delivery (null when the card went away or it took too long).
async function answer(messageID, endpointID, result) {
  for (let i = 0; i < 60 && result.isConnected; i++) {
    await sleep(i < 10 ? 300 : 1000);
    let m;
    try {
      m = await get(t(`/messages/${messageID}`));
    } catch {
      continue;
    }
    const d = m.deliveries.find((x) => x.endpoint_id === endpointID);
    if (d && d.attempts > 0) return d;
  }
  if (result.isConnected) clear(result, h("div", { class: "result small" }, "Still waiting for an answer."));
  return null;
}
