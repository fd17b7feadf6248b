// Endpoint detail: health, signing secret, test events, the receiver
// self-check, recent attempts, and the actions (edit, disable/enable,
// delete).
import { get, post, patch, del, t, all, canChange, ApiError } from "../api.js";
import {
  h, clear, time, codePill, codeText, copyButton, confirmDialog, showErrors, clearErrors, busy, toast, sleep,
} from "../dom.js";
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
        h("p", { class: "sub", id: "endpoint-description" }, e.description || filtersText(e))),
      canChange() ? h("div", { class: "actions" },
        h("a", { class: "btn", id: "edit-endpoint", href: `#/endpoints/${e.id}/edit` }, "Edit"),
        toggle,
        remove) : null),
    e.disabled ? h("div", { class: "result bad", role: "status" },
      h("strong", {}, "This endpoint is disabled. "), e.disabled_reason || "", " Nothing is sent to it until it is enabled.") : null,
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

async function disable(e, path, el, btn) {
  const reason = await confirmDialog({
    title: "Disable this endpoint?",
    body: "Nothing is sent to it while it is disabled; messages published meanwhile are not delivered to it later.",
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

async function enable(e, path, el, btn) {
  await busy(btn, async () => {
    try {
      await patch(path, { disabled: false });
    } catch (err) {
      toast(err.message, "bad");
      return;
    }
    toast("Endpoint enabled.");
    await endpointPage(el, e.id);
  });
}
