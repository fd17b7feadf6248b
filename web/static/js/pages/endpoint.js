// Endpoint detail: health, signing secret, test events, the receiver
// self-check, recent attempts, and the actions (edit, disable/enable,
// delete).
import { get, post, patch, del, t, all, canChange, ApiError } from "../api.js";
import {
  h, clear, time, codePill, codeText, copyButton, confirmDialog, showErrors, clearErrors, busy, toast, sleep, icon,
} from "../dom.js";
import {
  healthPill, healthState, sinceLine, circuitOpen, circuitText, when, messages, waitingMessages, waitingText,
} from "../health.js";
import { filtersText } from "./endpoints.js";
import { recoverForm } from "./messages.js";
import { checkCard } from "./check.js";
import { backfillCard } from "./backfill.js";
import { versionsCard, deprecationBanner } from "./versions.js";

export async function endpointPage(el, id) {
  const path = t(`/endpoints/${encodeURIComponent(id)}`);
  const [e, stats, types] = await Promise.all([get(path), get(path + "/stats"), all("/event-types")]);

  // After a test event, the numbers and the recent deliveries change.
  const statsBox = h("div", { class: canChange() ? null : "spaced-bottom" }, statsCards(stats));
  const attempts = attemptsCard(e, path);
  const refresh = async () => {
    try {
      clear(statsBox, statsCards(await get(path + "/stats")));
    } catch {
      // keep the numbers shown
    }
    attempts.reload();
  };

  const toggle = h("button", { type: "button", class: "btn", id: "toggle-endpoint" }, e.disabled ? "Enable" : "Disable");
  toggle.addEventListener("click", () => (e.disabled ? enable(e, path, el, toggle) : disable(e, path, el, toggle)));
  const remove = h("button", { type: "button", class: "btn btn-danger", id: "delete-endpoint" }, "Delete");
  remove.addEventListener("click", async () => {
    const yes = await confirmDialog({
      title: "Delete this endpoint?",
      body: `${e.url} stops receiving webhooks at once, and its delivery history is deleted. This cannot be undone.`,
      confirm: "Delete endpoint",
      danger: true,
    });
    if (!yes) return;
    await busy(remove, async () => {
      try {
        await del(path);
      } catch (err) {
        toast(err.message, "bad");
        return;
      }
      toast("Endpoint deleted.");
      location.hash = "#/endpoints";
    });
  });

  clear(el,
    h("div", { class: "page-head" },
      h("div", { class: "cell-main" },
        h("div", { class: "crumbs" }, h("a", { href: "#/endpoints" }, "Endpoints")),
        h("h1", { class: "title-url", id: "endpoint-url" }, e.url),
        h("p", { class: "sub", id: "endpoint-description" }, e.description || filtersText(e)),
        h("div", { class: "health-line", id: "endpoint-health" }, healthPill(e), sinceLine(e))),
      canChange() ? h("div", { class: "actions" },
        h("a", { class: "btn", id: "edit-endpoint", href: `#/endpoints/${e.id}/edit` }, "Edit"),
        toggle,
        remove) : null),
    healthBanners(e, path, el),
    deprecationBanner(e, types),
    statsBox,
    canChange() ? h("div", { class: "grid2 spaced" },
      secretCard(e, path),
      testCard(e, path, types, refresh)) : null,
    versionsCard(e, path, types, () => endpointPage(el, e.id), refresh),
    canChange() ? checkCard(e, path) : null,
    attempts.el,
    canChange() ? h("div", { class: "card" },
      h("h2", {}, "Recover failed deliveries"),
      h("p", { class: "muted small" }, "Fixed a problem on your side? Send again every message whose delivery to this endpoint failed since a time."),
      recoverForm(e.id)) : null,
    canChange() ? backfillCard(e, path) : null,
    detailsCard(e));
}

function statsCards(st) {
  const rate = st.success_rate_24h === null ? "—" : `${Math.round(st.success_rate_24h * 1000) / 10}%`;
  return h("div", { class: "stats" },
    stat("Attempts, 24 h", String(st.attempts_24h)),
    stat("Success rate, 24 h", rate),
    stat("Last status", st.last_status_code ? codeText(st.last_status_code) : st.last_attempt_at ? "no answer" : "—"),
    stat("Last attempt", st.last_attempt_at ? time(st.last_attempt_at, true) : "never"));
}

function stat(k, v) {
  return h("div", { class: "stat" }, h("div", { class: "k" }, k), h("div", { class: "v" }, v));
}

// secretCard: the signing secret hidden until revealed, copy, rotate. A v1a
// endpoint shows its public key instead.
function secretCard(e, path) {
  const asym = e.signature_scheme === "v1a";
  const value = h("code", { class: "secret", id: "secret-value" }, asym ? "…" : "whsec_" + "•".repeat(24));
  let secret = "";
  const reveal = h("button", { type: "button", class: "btn btn-sm", id: "reveal-secret" }, "Reveal");
  const copy = copyButton(() => secret, "Copy");
  copy.hidden = true;
  const show = (s) => {
    secret = asym ? s.public_key : s.secret;
    value.textContent = secret;
    reveal.hidden = true;
    copy.hidden = false;
  };
  const load = async () => {
    try {
      show(await get(path + "/secret"));
    } catch (err) {
      toast(err.message, "bad");
    }
  };
  reveal.addEventListener("click", () => busy(reveal, load));
  if (asym) load();

  const grace = h("input", { type: "number", id: "grace-hours", min: "0", max: "168", step: "1", value: "24" });
  const rotate = h("button", { type: "submit", class: "btn", id: "rotate-secret" }, "Rotate secret");
  const form = h("form", { class: "inline-form spaced", novalidate: true },
    h("div", { class: "field narrow", "data-field": "grace_period_seconds" },
      h("label", { for: "grace-hours" }, "Grace period (hours)"), grace),
    rotate);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const hours = Number(grace.value || "0");
    const yes = await confirmDialog({
      title: "Rotate the signing secret?",
      body: hours > 0
        ? `A new secret signs from now on. For ${hours} hour${hours === 1 ? "" : "s"}, requests carry signatures of both, so your server can switch over.`
        : "A new secret signs from now on and the old one stops at once: requests fail verification until your server uses the new one.",
      confirm: "Rotate",
    });
    if (!yes) return;
    await busy(rotate, async () => {
      try {
        show(await post(path + "/secret/rotate", { grace_period_seconds: Math.round(hours * 3600) }));
        toast("Secret rotated. Update your server with the new one.");
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        showErrors(form, err);
      }
    });
  });

  return h("section", { class: "card" },
    h("h2", {}, asym ? "Public key" : "Signing secret"),
    h("p", { class: "muted small" }, asym
      ? "Requests are signed with ed25519 (v1a). Verify them with this public key."
      : "Use it to verify that requests come from us. Keep it secret."),
    h("div", { class: "secret-box" }, value, reveal, copy),
    form,
    h("p", { class: "hint" }, h("a", { href: `#/verify?endpoint=${e.id}` }, "How to verify signatures →")));
}

// testCard sends the example of an event type to this endpoint only and
// shows how the endpoint answered.
function testCard(e, path, types, refresh) {
  const pick = h("select", { id: "test-event-type", name: "event_type" },
    types.map((et) => h("option", { value: et.name }, et.name)));
  const first = types.find((et) => wanted(e, et.name)); // preselect one the endpoint subscribes to
  if (first) pick.value = first.name;
  const send = h("button", { type: "submit", class: "btn btn-primary", id: "send-test" }, "Send test event");
  const result = h("div", { id: "test-result", role: "status" });
  const form = h("form", { class: "inline-form", novalidate: true },
    h("div", { class: "field", "data-field": "event_type" }, h("label", { for: "test-event-type" }, "Event type"), pick),
    send);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(form);
    clear(result, h("div", { class: "result" }, "Sending…"));
    busy(send, async () => {
      let sent;
      try {
        sent = await post(path + "/test", { event_type: pick.value });
      } catch (err) {
        clear(result);
        if (!(err instanceof ApiError)) throw err;
        showErrors(form, err);
        return;
      }
      clear(result, h("div", { class: "result" }, "Sent. Waiting for your endpoint to answer…"));
      await showTestResult(result, sent.message_id, e.id);
      refresh();
    });
  });
  return h("section", { class: "card" },
    h("h2", {}, "Send a test event"),
    h("p", { class: "muted small" }, "Sends the event type's example payload to this endpoint only, signed like every other request."),
    types.length ? form : h("p", { class: "muted" }, "No event types are published yet."),
    result);
}

function wanted(e, name) {
  if (e.event_types.length === 0) return true;
  return e.event_types.some((f) => f === name || f === "*" || (f.endsWith(".*") && name.startsWith(f.slice(0, -1))));
}

async function showTestResult(result, messageID, endpointID) {
  const link = h("a", { href: `#/messages/${messageID}` }, "See it in the delivery log");
  for (let i = 0; i < 60 && result.isConnected; i++) {
    await sleep(i < 10 ? 300 : 1000);
    let m;
    try {
      m = await get(t(`/messages/${messageID}`));
    } catch {
      continue;
    }
    const d = m.deliveries.find((x) => x.endpoint_id === endpointID);
    if (!d || d.attempts === 0) continue;
    if (d.status === "succeeded") {
      clear(result, h("div", { class: "result ok" },
        h("strong", {}, "Delivered"), ` — your endpoint answered ${codeText(d.last_status_code)}. `, link));
    } else {
      const answer = d.last_status_code ? `answered ${codeText(d.last_status_code)}` : "did not answer";
      clear(result, h("div", { class: "result bad" },
        h("strong", {}, "Failed"), ` — your endpoint ${answer}. `, link, " for the response."));
    }
    return;
  }
  if (result.isConnected) {
    clear(result, h("div", { class: "result" }, "Still waiting for an answer. ", link));
  }
}

// attemptsCard lists the latest attempts to this endpoint.
function attemptsCard(e, path) {
  const body = h("div", { id: "recent-attempts" }, h("div", { class: "loading" }, "Loading…"));
  const reload = async () => {
    let page;
    try {
      page = await get(path + "/attempts?limit=10");
    } catch (err) {
      clear(body, h("p", { class: "form-error" }, err.message));
      return;
    }
    if (page.data.length === 0) {
      clear(body, h("p", { class: "muted" }, "Nothing was sent to this endpoint yet. Send it a test event."));
      return;
    }
    clear(body, h("div", { class: "rows" },
      h("div", { class: "row attempt-row rows-head", "aria-hidden": "true" },
        h("span", {}, "When"), h("span", {}, "Answer"), h("span", {}, "Duration"), h("span", {}, "Trigger"), h("span", {}, "")),
      page.data.map((a) => h("div", { class: "row attempt-row" },
        h("div", {}, time(a.started_at)),
        h("div", {}, codePill(a.status_code, a.error)),
        h("div", { class: "small" }, h("span", { class: "cell-label" }, "Duration"), `${a.duration_ms} ms`),
        h("div", { class: "small" }, h("span", { class: "cell-label" }, "Trigger"), a.trigger),
        h("div", {}, h("a", { href: `#/messages/${a.message_id}`, title: a.message_id }, "View message"))))));
  };
  reload();
  return {
    reload,
    el: h("section", { class: "card" },
      h("div", { class: "card-head" },
        h("h2", {}, "Recent deliveries"),
        h("a", { class: "btn btn-sm", href: `#/messages?endpoint_id=${e.id}` }, "All in the delivery log")),
      body),
  };
}

function detailsCard(e) {
  const headers = Object.entries(e.headers || {});
  return h("section", { class: "card" },
    h("h2", {}, "Settings"),
    h("dl", { class: "facts" },
      h("dt", {}, "Endpoint id"), h("dd", { class: "mono" }, e.id),
      h("dt", {}, "Event types"), h("dd", {}, e.event_types.length ? e.event_types.join(", ") : "all"),
      h("dt", {}, "Channels"), h("dd", {}, e.channels.length ? e.channels.join(", ") : "all"),
      h("dt", {}, "Custom headers"), h("dd", { class: "mono" }, headers.length ? headers.map(([k, v]) => h("div", {}, `${k}: ${v}`)) : "none"),
      h("dt", {}, "Rate limit"), h("dd", {}, e.rate_limit ? `${e.rate_limit} per second` : "none"),
      h("dt", {}, "Signature"), h("dd", {}, e.signature_scheme === "v1a" ? "v1a (ed25519)" : "v1 (HMAC-SHA256)"),
      h("dt", {}, "Created"), h("dd", {}, time(e.created_at)),
      h("dt", {}, "Updated"), h("dd", {}, time(e.updated_at))));
}

// healthBanners are what the page says first about an endpoint in trouble:
// failing (with what its server last answered), disabled (with the
// messages kept for it and the ways to enable it), messages still waiting
// after it was enabled, and a circuit that holds sending back.
function healthBanners(e, path, el) {
  const state = healthState(e);
  const n = e.parked_count || 0;
  const out = [];
  if (state === "failing") out.push(failingBanner(e));
  if (state === "disabled") out.push(disabledBanner(e, path, el, n));
  if (state !== "disabled" && n > 0) out.push(waitingBanner(e, path, el, n));
  if (state !== "failing" && state !== "disabled" && circuitOpen(e)) {
    out.push(h("div", { class: "alert warn compact", id: "circuit-state", role: "status" }, circuitText(e)));
  }
  return out;
}

function alertHead(iconName, title, attrs) {
  return h("div", { class: "alert-head" }, icon(iconName), h("h2", attrs || {}, title));
}

function failingBanner(e) {
  const hl = e.health || {};
  const lastAttempt = h("span", {});
  const box = h("section", { class: "alert warn", id: "health-banner", role: "alert" },
    alertHead("alert", "This endpoint is failing"),
    h("p", {}, "Every attempt to deliver to it since ", when(hl.failing_since || hl.since), " has failed. ",
      "We keep retrying each message on its schedule; if it goes on failing, the endpoint is disabled ",
      "and new messages are kept for it until it is enabled again."),
    hl.last_error ? h("div", { class: "answer" },
      h("div", { class: "answer-label" }, "What your server last answered", hl.last_failure_at ? [" · ", when(hl.last_failure_at)] : null),
      h("pre", { class: "answer-text", id: "last-error" }, hl.last_error)) : null,
    circuitOpen(e) ? h("p", { class: "small", id: "circuit-state" }, circuitText(e)) : null,
    h("div", { class: "actions" },
      h("a", { class: "btn btn-sm", href: `#/messages?endpoint_id=${e.id}&status=failed` }, "See the failed deliveries"),
      lastAttempt));
  // The latest attempt, for its whole answer (headers and body).
  get(t(`/endpoints/${e.id}/attempts?limit=1`)).then((page) => {
    const a = page.data[0];
    if (a && a.status !== "succeeded") {
      clear(lastAttempt, h("a", { class: "btn btn-sm", href: `#/messages/${a.message_id}` }, "Open the last attempt"));
    }
  }).catch(() => {});
  return box;
}

function disabledBanner(e, path, el, n) {
  // Since when is in the health line above.
  const box = h("section", { class: "alert bad", id: "disabled-banner", role: "status" },
    alertHead("pause", "This endpoint is disabled"),
    h("p", {},
      e.disabled_reason ? h("strong", { id: "disabled-reason" }, e.disabled_reason.replace(/\.?$/, ". ")) : null,
      "Nothing is sent to it until it is enabled; messages published meanwhile are kept for it."));
  if (n > 0) {
    box.appendChild(h("p", { class: "waiting-line", id: "parked-count", dataset: { parked: String(n) } }, waitingText(n), "."));
  }
  if (!canChange() || n === 0) return box; // the header's Enable does it
  const send = h("button", { type: "button", class: "btn btn-primary", id: "enable-send-parked" }, `Enable and send ${waitingMessages(n)}`);
  send.addEventListener("click", async () => {
    if (!await confirmSend(n, true)) return;
    await setEnabled(e, path, el, send, true);
  });
  const only = h("button", { type: "button", class: "btn", id: "enable-only" }, "Enable only");
  only.addEventListener("click", () => setEnabled(e, path, el, only, false));
  box.append(
    h("div", { class: "actions" }, send, only),
    h("p", { class: "hint" }, "“Enable only” sends new messages from now on; the waiting ones stay here until you send them."));
  return box;
}

// waitingBanner: the endpoint was enabled without sending what it missed.
function waitingBanner(e, path, el, n) {
  const box = h("section", { class: "alert info", id: "waiting-banner", role: "status" },
    alertHead("inbox", waitingText(n), { id: "parked-count", dataset: { parked: String(n) } }),
    h("p", {}, n === 1
      ? "It was kept while the endpoint was disabled, and is sent only when you say so, with its original webhook-id."
      : "They were kept while the endpoint was disabled, and are sent only when you say so, each with its original webhook-id."));
  if (!canChange()) return box;
  const send = h("button", { type: "button", class: "btn btn-primary", id: "send-parked" }, `Send ${waitingMessages(n)}`);
  send.addEventListener("click", async () => {
    if (!await confirmSend(n, false)) return;
    await busy(send, async () => {
      let out;
      try {
        out = await patch(path, { send_parked: true });
      } catch (err) {
        toast(err.message, "bad");
        return;
      }
      toast(`Sending ${messages(n)}.`);
      await endpointPage(el, out.id);
    });
  });
  box.appendChild(h("div", { class: "actions" }, send));
  return box;
}

function confirmSend(n, enabling) {
  return confirmDialog({
    title: enabling ? `Enable it and send ${waitingMessages(n)}?` : `Send ${waitingMessages(n)} to this endpoint?`,
    body: `${waitingText(n)}. Each is sent as it was published, oldest first, with its original webhook-id, ` +
      "so your server can tell a message it already has.",
    confirm: enabling ? `Enable and send ${waitingMessages(n)}` : `Send ${waitingMessages(n)}`,
  });
}

async function disable(e, path, el, btn) {
  const reason = await confirmDialog({
    title: "Disable this endpoint?",
    body: "Nothing is sent to it while it is disabled. Messages published meanwhile are kept for it, and can be sent when you enable it again.",
    confirm: "Disable",
    danger: true,
    input: { label: "Reason (optional)", placeholder: "e.g. server maintenance" },
  });
  if (reason === null) return;
  await busy(btn, async () => {
    try {
      await patch(path, { disabled: true, disabled_reason: reason || "disabled in the portal" });
    } catch (err) {
      toast(err.message, "bad");
      return;
    }
    toast("Endpoint disabled.");
    await endpointPage(el, e.id);
  });
}

// enable is the header's button: with messages waiting, it asks first
// whether to send them too.
async function enable(e, path, el, btn) {
  const n = e.parked_count || 0;
  let send = false;
  if (n > 0) {
    const choice = await confirmDialog({
      title: "Enable this endpoint?",
      body: `${waitingText(n)}, kept while it was disabled. Send them as it is enabled, each with its original webhook-id, ` +
        "or enable it for new messages only and keep them waiting.",
      confirm: `Enable and send ${waitingMessages(n)}`,
      alt: "Enable only",
    });
    if (!choice) return;
    send = choice === "ok";
  }
  await setEnabled(e, path, el, btn, send);
}

async function setEnabled(e, path, el, btn, sendParked) {
  await busy(btn, async () => {
    try {
      await patch(path, sendParked ? { disabled: false, send_parked: true } : { disabled: false });
    } catch (err) {
      toast(err.message, "bad");
      return;
    }
    const n = e.parked_count || 0;
    toast(sendParked ? `Endpoint enabled. Sending ${messages(n)}.` : "Endpoint enabled.");
    await endpointPage(el, e.id);
  });
}
