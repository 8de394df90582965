// Settlements. The node keeps no settlement records: cross-chain settlement runs in the
// client's process (the SDK's CrossChainTransport and its BridgeManager store). This view
// says so, and shows results the visitor pastes (`aitbc settle status ... --json`), grouped
// per bridge, verbatim as text.

import { h, notice, replace, short, when } from "../dom.js";

const COLUMNS = [
  "message_id",
  "status",
  "transaction_hash",
  "fee_paid",
  "error_message",
  "updated_at",
];

function asList(value) {
  if (Array.isArray(value)) return value;
  if (value && Array.isArray(value.items)) return value.items;
  return [value];
}

export function render(root) {
  const input = h("textarea", {
    id: "settlement-input",
    spellcheck: "false",
    placeholder: "Paste settlement results (JSON object or list)",
  });
  const output = h("div", { id: "settlement-output" });
  const form = h(
    "form",
    { class: "card" },
    input,
    h("div", { class: "toolbar" }, h("button", { type: "submit" }, "Show")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    let items;
    try {
      items = asList(JSON.parse(input.value));
    } catch (err) {
      replace(output, notice("error", `Not JSON: ${err.message}`));
      return;
    }
    const bad = items.find((r) => !r || typeof r !== "object" || !r.message_id || !r.bridge_name);
    if (bad !== undefined) {
      replace(
        output,
        notice(
          "error",
          "Each settlement needs message_id and bridge_name (the shape of `aitbc settle status --json`).",
        ),
      );
      return;
    }
    const bridges = new Map();
    for (const r of items) bridges.set(r.bridge_name, [...(bridges.get(r.bridge_name) || []), r]);
    replace(
      output,
      [...bridges].map(([bridge, rows]) =>
        h(
          "section",
          { class: "card", dataset: { bridge } },
          h("h3", {}, `${bridge} · ${rows.length} message(s)`),
          h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                COLUMNS.map((c) => h("th", {}, c)),
              ),
            ),
            h(
              "tbody",
              {},
              rows.map((r) =>
                h(
                  "tr",
                  {},
                  COLUMNS.map((c) =>
                    h(
                      "td",
                      { class: c.endsWith("id") || c.endsWith("hash") ? "mono" : "" },
                      c === "updated_at"
                        ? when(r[c])
                        : c === "transaction_hash"
                          ? short(r[c])
                          : (r[c] ?? "—"),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  });
  replace(
    root,
    h("h2", {}, "Settlements"),
    notice(
      "info",
      "This node has no settlement data: cross-chain settlement runs in the client (the SDK's CrossChainTransport and its local store), not in the node. Paste the output of `aitbc settle status <id> --json` below to see it per bridge.",
    ),
    form,
    output,
  );
  return () => {};
}
