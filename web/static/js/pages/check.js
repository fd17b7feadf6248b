// The receiver self-check on the endpoint page: runs a check
// (POST .../check), polls it until every row is judged, and shows the
// report card with what was sent, what came back and what to change.
import { get, post, ApiError } from "../api.js";
import { h, clear, time, pill, codeText, pretty, busy, sleep } from "../dom.js";

const LANGS = { node: "Node.js", python: "Python", go: "Go" };

const VERDICTS = {
  pass: ["Pass", "ok"],
  warn: ["Warn", "warn"],
  fail: ["Fail", "bad"],
  pending: ["Waiting", ""],
};

// checkCard is the self-check card of endpoint e (path is its API path).
export function checkCard(e, path) {
  const report = h("div", { id: "check-report", "aria-live": "polite" });
  const run = h("button", { type: "button", class: "btn btn-primary", id: "run-check" }, "Run self-check");
  const lang = h("select", { id: "check-lang", class: "check-lang" },
    Object.entries(LANGS).map(([k, v]) => h("option", { value: k }, v)));
  let chosen = false; // the user picked a language: no more guessing
  let shown = null; // the check on display
  const draw = (c) => {
    shown = c;
    if (!chosen) {
      const guess = guessLang(c);
      if (guess) lang.value = guess;
    }
    clear(report, reportView(c, e, lang.value));
  };
  lang.addEventListener("change", () => {
    chosen = true;
    if (shown) draw(shown);
  });

  // follow polls a running check until it is done or the card is gone.
  const follow = async (c) => {
    draw(c);
    for (let i = 0; c.status === "running" && report.isConnected && i < 600; i++) {
      await sleep(i < 20 ? 300 : 1000);
      try {
        c = await get(`${path}/checks/${encodeURIComponent(c.id)}`);
      } catch {
        continue; // a lost answer: try again
      }
      if (report.isConnected) draw(c);
    }
  };

  run.addEventListener("click", () => busy(run, async () => {
    let c;
    try {
      c = await post(path + "/check");
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const notice = h("div", { class: "result bad", role: "status", id: "check-error" }, err.message);
      if (shown) clear(report, notice, reportView(shown, e, lang.value));
      else clear(report, notice);
      return;
    }
    await follow(c);
  }));

  // The latest check, if there is one, and it may still be running.
  (async () => {
    let page;
    try {
      page = await get(path + "/checks?limit=1");
    } catch {
      return;
    }
    if (page.data.length && !shown) follow(page.data[0]);
    else if (!shown) clear(report, h("p", { class: "muted small" }, "This endpoint has not been checked yet."));
  })();

  return h("section", { class: "card", id: "self-check" },
    h("div", { class: "card-head" },
      h("h2", {}, "Receiver self-check"),
      h("div", { class: "actions" }, h("label", { class: "small muted", for: "check-lang" }, "Fixes for"), lang, run)),
    h("p", { class: "muted small" },
      "Sends seven requests to this endpoint, one after the other, each marked with the header ",
      h("code", {}, "webhook-check: <name>"),
      ": correctly signed ones your server must accept, and forged, altered or replayed ones it must refuse. ",
      "They are not deliveries and do not count toward the endpoint's health. One check a minute."),
    report);
}

// reportView is the report card of check c.
function reportView(c, e, lang) {
  const done = c.results.filter((r) => r.verdict !== "pending").length;
  const count = (v) => c.results.filter((r) => r.verdict === v).length;
  let summary;
  if (c.status === "running") {
    summary = h("div", { class: "result check-summary", role: "status" },
      h("strong", {}, "Checking… "), `${done} of ${c.results.length} rows judged.`);
  } else if (c.status === "aborted") {
    summary = h("div", { class: "result bad check-summary", role: "status" },
      h("strong", {}, "The check could not finish. "), c.error);
  } else {
    const fails = count("fail");
    const warns = count("warn");
    const verb = (n, one, many) => `${n} ${n === 1 ? one : many}`;
    const of = `of ${c.results.length} checks`;
    let text = `All ${c.results.length} checks pass.`;
    if (fails && warns) text = `${fails} ${of} ${fails === 1 ? "fails" : "fail"}, ${verb(warns, "warns", "warn")}.`;
    else if (fails) text = `${fails} ${of} ${fails === 1 ? "fails" : "fail"}.`;
    else if (warns) text = `${warns} ${of} ${warns === 1 ? "warns" : "warn"}.`;
    summary = h("div", { class: `result check-summary ${fails ? "bad" : warns ? "warn" : "ok"}`, role: "status" },
      h("strong", {}, text),
      fails || warns ? " Each row below says what to change." : " Your server verifies requests as it should.");
  }
  return h("div", { dataset: { check: c.id, status: c.status } },
    summary,
    h("p", { class: "muted small check-meta" },
      "Checked ", time(c.created_at, true), " · sent to ", h("span", { class: "mono" }, c.url),
      c.event_type ? [" · the example of ", h("code", {}, c.event_type)] : null),
    h("div", { class: "check-rows" }, c.results.map((r) => rowView(r, e, lang, helps(c, r)))));
}

// helps tells whether the code of "How to verify" helps with a row: when
// the receiver answered the valid request wrongly, or answered another
// row wrongly while the valid one passed. Speed, and rows that only follow
// from a failed valid request, are not about verifying.
function helps(c, r) {
  if (r.name === "fast" || !r.attempt || !r.attempt.status_code) return false;
  if (r.name === "valid") return true;
  const valid = c.results.find((x) => x.name === "valid");
  return !!valid && valid.verdict === "pass";
}

function rowView(r, e, lang, help) {
  const [label, kind] = VERDICTS[r.verdict] || [r.verdict, ""];
  return h("div", { class: "check-row", dataset: { check: r.name, verdict: r.verdict } },
    h("div", { class: "check-verdict" }, pill(label, kind)),
    h("div", { class: "check-what" },
      h("strong", {}, r.title),
      h("div", { class: "small muted" }, "Sends ", r.sent)),
    h("div", { class: "check-outcome small" },
      h("div", {}, h("span", { class: "muted" }, "A correct receiver "), r.expects),
      h("div", {}, h("span", { class: "muted" }, "Yours "), r.verdict === "pending" ? "…" : r.got)),
    r.fix ? h("div", { class: "check-fix small" },
      h("p", {}, r.fix),
      help ? h("a", { href: `#/verify?endpoint=${encodeURIComponent(e.id)}&lang=${lang}` },
        `How to verify, in ${LANGS[lang]} →`) : null) : null,
    r.attempt ? exchangeView(r.attempt) : null);
}

// exchangeView is the request of a row and its answer, folded.
function exchangeView(a) {
  const table = (hs) => {
    const rows = Object.entries(hs || {});
    return rows.length
      ? h("div", { class: "table-wrap" }, h("table", {}, h("tbody", {},
        rows.map(([k, vs]) => h("tr", {}, h("td", { class: "mono" }, k), h("td", { class: "mono" }, vs.join(", ")))))))
      : h("p", { class: "muted small" }, "none");
  };
  return h("details", { class: "attempt check-exchange" },
    // The answer's status, neutral: a 400 may be the right answer here.
    h("summary", {}, "Request and answer", pill(a.status_code ? codeText(a.status_code) : a.error || "no answer", ""),
      h("span", { class: "muted small" }, `${a.duration_ms} ms`), pill(a.trigger, "plain"),
      h("span", { class: "sum-time" }, time(a.started_at))),
    h("div", { class: "attempt-body" },
      a.error && (!a.status_code || a.error === "timeout")
        ? h("p", { class: "small" }, h("strong", {}, a.error), a.error_detail ? ` — ${a.error_detail}` : "") : null,
      h("div", {}, h("h3", {}, "Request headers"), table(a.request_headers)),
      h("div", {}, h("h3", {}, "Response headers"), table(a.response_headers)),
      h("div", {},
        h("h3", {}, "Response body", a.response_body_truncated ? h("span", { class: "muted small" }, " (truncated)") : null),
        a.response_body ? h("pre", { class: "body", tabindex: "0" }, pretty(a.response_body)) : h("p", { class: "muted small" }, "empty"))));
}

// guessLang guesses the receiver's language from how it answered the
// valid request; null when its headers do not say.
function guessLang(c) {
  const valid = c.results.find((r) => r.name === "valid");
  const hs = (valid && valid.attempt && valid.attempt.response_headers) || {};
  const value = (name) => Object.entries(hs).filter(([k]) => k.toLowerCase() === name).map(([, v]) => v.join(" ")).join(" ").toLowerCase();
  const said = value("x-powered-by") + " " + value("server");
  if (/express|next\.js|node|koa|fastify|hono/.test(said)) return "node";
  if (/werkzeug|gunicorn|uvicorn|hypercorn|waitress|python|django|flask/.test(said)) return "python";
  return null;
}
