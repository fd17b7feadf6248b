// "Send past messages": an endpoint's backfill. The messages published
// since a time that it matches and never got (say, before it existed) are
// counted first, then sent on confirmation, oldest first.
import { post, ApiError } from "../api.js";
import { h, clear, showErrors, clearErrors, busy, confirmDialog } from "../dom.js";
import { toLocalInput } from "./messages.js";

const num = (n) => new Intl.NumberFormat().format(n);
const messages = (n) => `${num(n)} ${n === 1 ? "message" : "messages"}`;

// backfillCard is the card of the endpoint page; path is the endpoint's
// API path.
export function backfillCard(e, path) {
  const card = h("section", { class: "card", id: "backfill" },
    h("h2", {}, "Send past messages"),
    h("p", { class: "muted small" }, "Messages published before this endpoint existed, or before it wanted them, can be sent to it now: " +
      "those since a time that it matches and never got, oldest first" +
      (e.rate_limit ? `, at its rate limit of ${e.rate_limit} a second.` : ".")));
  if (e.disabled) {
    card.appendChild(h("p", { class: "muted" }, "Enable the endpoint to send it past messages."));
    return card;
  }
  const since = h("input", { type: "datetime-local", id: "backfill-since", value: toLocalInput(new Date(Date.now() - 24 * 3600 * 1000)) });
  const count = h("button", { type: "submit", class: "btn", id: "backfill-count" }, "Count them");
  const result = h("div", { id: "backfill-result", "aria-live": "polite" });
  const form = h("form", { class: "inline-form", novalidate: true },
    h("div", { class: "field", "data-field": "since" }, h("label", { for: "backfill-since" }, "Published since"), since),
    count);
  // A count holds for the time it was made with only.
  since.addEventListener("input", () => clear(result));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(form);
    clear(result);
    const body = { since: since.value ? new Date(since.value).toISOString() : "" };
    busy(count, async () => {
      let dry;
      try {
        dry = await post(path + "/backfill", { ...body, dry_run: true });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        showErrors(form, err);
        return;
      }
      if (dry.matched === 0) {
        clear(result, h("div", { class: "result" }, "No past messages to send: this endpoint has every message since then that it wants."));
        return;
      }
      const n = Math.min(dry.matched, dry.limit);
      const go = h("button", { type: "button", class: "btn btn-primary", id: "backfill-go" }, `Send ${messages(n)}`);
      go.addEventListener("click", async () => {
        const ok = await confirmDialog({ title: `Send ${messages(n)} to this endpoint?`,
          body: "Each is sent as it was published, signed, with its own webhook-id. Your server receives them alongside new messages.",
          confirm: "Send" });
        if (!ok) return;
        await busy(go, async () => {
          let r;
          try {
            r = await post(path + "/backfill", body);
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            showErrors(form, err);
            return;
          }
          clear(result, h("div", { class: "result ok" },
            h("strong", {}, r.enqueued === 0 ? "Nothing left to send." : `Sending ${messages(r.enqueued)}.`),
            " They show in the delivery log as they go, with the trigger “backfill”.",
            r.more ? " More remain: count again to send the next ones." : ""));
        });
      });
      clear(result, h("div", { class: "result preview" },
        h("strong", { id: "backfill-matched" }, `${messages(dry.matched)} since then ${dry.matched === 1 ? "is" : "are"} not yet sent here.`),
        dry.matched > dry.limit ? h("span", {}, ` The first ${num(dry.limit)} go now; send again for the rest.`) : null,
        h("span", {}, " Nothing is sent until you confirm."),
        h("div", { class: "actions spaced-top" }, go)));
    });
  });
  card.append(form, result);
  return card;
}
