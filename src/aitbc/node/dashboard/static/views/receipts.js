// Receipts: paste one (or open one by id) and verify it here, in the browser, against the
// keys this node publishes in /v1/info.

import { api } from "../api.js";
import { h, notice, pretty, replace } from "../dom.js";
import { verifyReceipt } from "../verify.js";

/** The verdict banner plus one line per check; the first failed check is named. */
export function verdictView(outcome) {
  const banner = outcome.ok
    ? h(
        "div",
        { class: "verdict genuine", id: "verdict", dataset: { ok: "true" } },
        "Genuine: every check passed",
      )
    : h(
        "div",
        {
          class: "verdict tampered",
          id: "verdict",
          dataset: { ok: "false", failed: outcome.failed },
        },
        `Not genuine: ${outcome.failed} check failed`,
      );
  const list = h(
    "ul",
    { class: "checks" },
    outcome.checks.map((c) =>
      h(
        "li",
        {
          class: c.ok === true ? "pass" : c.ok === false ? "fail" : "skip",
          dataset: { check: c.name },
        },
        h("strong", {}, c.name),
        ` — ${c.detail}`,
      ),
    ),
  );
  return h("div", {}, banner, list);
}

export function render(root, route, ctx) {
  const input = h("textarea", {
    id: "receipt-input",
    spellcheck: "false",
    placeholder: "Paste a receipt (JSON)",
  });
  const output = h("div", { id: "receipt-output" });
  let stopped = false;

  async function check() {
    let receipt;
    try {
      receipt = JSON.parse(input.value);
    } catch (err) {
      replace(output, notice("error", `Not JSON: ${err.message}`));
      return;
    }
    try {
      const outcome = await verifyReceipt(receipt, ctx.info);
      if (!stopped) replace(output, verdictView(outcome));
    } catch (err) {
      replace(output, notice("error", err.message));
    }
  }

  const form = h(
    "form",
    { class: "card", id: "receipt-form" },
    h(
      "p",
      { class: "muted" },
      `Checks the coordinator's Ed25519 signature over the RFC 8785 canonical JSON with the node's published keys (${ctx.info.signing_keys.map((k) => k.key_id).join(", ")}), the chain id (${ctx.info.chain_id}) and the miner's attestation.`,
    ),
    input,
    h("div", { class: "toolbar" }, h("button", { type: "submit", id: "verify" }, "Verify")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check();
  });
  replace(root, h("h2", {}, "Receipts"), form, output);

  if (route.id) {
    api(`/v1/receipts/${encodeURIComponent(route.id)}`)
      .then((receipt) => {
        if (stopped) return;
        input.value = pretty(receipt);
        check();
      })
      .catch((err) => replace(output, notice("error", err.message)));
  }
  return () => {
    stopped = true;
  };
}
