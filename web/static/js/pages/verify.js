// How to verify: code that checks our signatures with the Standard
// Webhooks libraries, with an endpoint's secret filled in on request.
import { get, t, all, canChange } from "../api.js";
import { h, clear, codeBlock, toast, busy } from "../dom.js";

const PLACEHOLDER = "whsec_YOUR_ENDPOINT_SECRET";

const snippets = {
  node: {
    label: "Node.js",
    install: "npm install standardwebhooks express",
    code: (secret) => `import express from "express";
import { Webhook } from "standardwebhooks";

const wh = new Webhook("${secret}");
const app = express();

// The signature covers the exact bytes: read the body raw, not parsed.
app.post("/webhooks", express.raw({ type: "application/json" }), (req, res) => {
  let event;
  try {
    event = wh.verify(req.body, {
      "webhook-id": req.header("webhook-id"),
      "webhook-timestamp": req.header("webhook-timestamp"),
      "webhook-signature": req.header("webhook-signature"),
    });
  } catch (err) {
    return res.status(400).send("invalid signature");
  }
  // A message may arrive more than once: skip webhook-ids you have seen.
  console.log(req.header("webhook-id"), event);
  res.sendStatus(204);
});

app.listen(3000);
`,
  },
  python: {
    label: "Python",
    install: "pip install standardwebhooks flask",
    code: (secret) => `from flask import Flask, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

wh = Webhook("${secret}")
app = Flask(__name__)


@app.post("/webhooks")
def webhooks():
    # The signature covers the exact bytes: verify the raw body.
    try:
        event = wh.verify(request.get_data(), dict(request.headers))
    except WebhookVerificationError:
        return "invalid signature", 400
    # A message may arrive more than once: skip webhook-ids you have seen.
    print(request.headers["webhook-id"], event)
    return "", 204
`,
  },
  go: {
    label: "Go",
    install: "go get github.com/standard-webhooks/standard-webhooks/libraries",
    code: (secret) => `package main

import (
	"io"
	"log"
	"net/http"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func main() {
	wh, err := standardwebhooks.NewWebhook("${secret}")
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("POST /webhooks", func(w http.ResponseWriter, r *http.Request) {
		// The signature covers the exact bytes: verify the raw body.
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			http.Error(w, "invalid signature", http.StatusBadRequest)
			return
		}
		// A message may arrive more than once: skip webhook-ids you have seen.
		log.Printf("%s %s", r.Header.Get("webhook-id"), body)
		w.WriteHeader(http.StatusNoContent)
	})
	log.Fatal(http.ListenAndServe(":3000", nil))
}
`,
  },
};

export async function verifyPage(el, _params, q) {
  const endpoints = (await all(t("/endpoints"))).filter((e) => e.signature_scheme !== "v1a");
  let secret = PLACEHOLDER;
  let lang = Object.hasOwn(snippets, q.get("lang") || "") ? q.get("lang") : "node";

  const pick = h("select", { id: "verify-endpoint", "aria-label": "Endpoint" },
    endpoints.map((e) => h("option", { value: e.id }, e.url)));
  if (q.get("endpoint") && endpoints.some((e) => e.id === q.get("endpoint"))) pick.value = q.get("endpoint");
  const fill = h("button", { type: "button", class: "btn btn-primary", id: "fill-secret" }, "Fill in my secret");
  const note = h("p", { class: "hint", id: "secret-note" }, "The code below shows a placeholder where your endpoint's secret goes.");

  const tabs = h("div", { class: "tabs", role: "tablist" });
  const panel = h("div", { role: "tabpanel", id: "verify-code" });
  const draw = () => {
    clear(tabs, Object.entries(snippets).map(([key, s]) => {
      const tab = h("button", { type: "button", class: "tab", role: "tab", "aria-selected": String(key === lang), dataset: { lang: key } }, s.label);
      tab.addEventListener("click", () => { lang = key; draw(); });
      return tab;
    }));
    const s = snippets[lang];
    clear(panel,
      h("p", { class: "small" }, "Install: ", h("code", {}, s.install)),
      codeBlock(s.code(secret)));
  };

  fill.addEventListener("click", () => busy(fill, async () => {
    try {
      const s = await get(t(`/endpoints/${encodeURIComponent(pick.value)}/secret`));
      secret = s.secret;
    } catch (err) {
      toast(err.message, "bad");
      return;
    }
    const url = pick.options[pick.selectedIndex].textContent;
    clear(note, "Filled in the secret of ", h("span", { class: "mono" }, url), ". Keep it out of your source control: load it from your configuration.");
    draw();
  }));

  clear(el,
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, "How to verify webhooks"),
        h("p", { class: "sub" }, "Check every request's signature before you trust it, with a Standard Webhooks library."))),
    h("section", { class: "card" },
      h("h2", {}, "What we send"),
      h("p", {}, "Each request is a POST with a JSON body and three headers: ",
        h("code", {}, "webhook-id"), " (the same on every retry of one message), ",
        h("code", {}, "webhook-timestamp"), " and ", h("code", {}, "webhook-signature"),
        ", an HMAC-SHA256 of the id, the timestamp and the exact body, keyed with your endpoint's signing secret."),
      h("p", { class: "muted small" }, "Answer with any 2xx status quickly; anything else, or no answer, is retried later. Verify the raw body: parsing and re-serialising JSON changes the bytes.")),
    h("section", { class: "card" },
      h("div", { class: "card-head" },
        h("h2", {}, "Code"),
        !canChange() ? null
          : endpoints.length ? h("div", { class: "actions" }, pick, fill) : h("a", { href: "#/endpoints/new" }, "Add an endpoint to fill in its secret")),
      note,
      tabs,
      panel));
  draw();
}
