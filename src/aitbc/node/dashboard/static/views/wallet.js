// The caller's wallet: balance, history (cursor pages), and transfers. Live from the
// caller's account topic.

import { api, page, idempotencyKey } from "../api.js";
import { EventStream } from "../sse.js";
import { h, notice, replace, short, when } from "../dom.js";

const PAGE_SIZE = 20;

function row(t) {
  return h(
    "tr",
    { dataset: { transferId: t.id } },
    h("td", {}, when(t.created_at)),
    h("td", {}, t.kind),
    h("td", { class: "mono" }, short(t.from_account)),
    h("td", { class: "mono" }, short(t.to_account)),
    h("td", {}, t.amount),
    h("td", { class: "mono" }, short(t.job_id)),
    h("td", {}, t.memo || ""),
  );
}

export function render(root, route, ctx) {
  const balance = h("dl", { class: "kv", id: "wallet-balance" });
  const body = h("tbody", { id: "history-rows" });
  const message = h("div", { id: "wallet-message" });
  const pageLabel = h("span", { class: "muted", id: "page-label" });
  const prev = h("button", { class: "secondary", id: "prev-page" }, "← Newer");
  const next = h("button", { class: "secondary", id: "next-page" }, "Older →");
  const status = h("span", { class: "live", id: "live-status" });
  const cursors = [null];
  let current = { items: [], next_cursor: null };
  let stopped = false;

  const to = h("input", { id: "transfer-to", placeholder: "prn_…", required: true });
  const amount = h("input", {
    id: "transfer-amount",
    placeholder: "amount",
    inputmode: "numeric",
    required: true,
  });
  const memo = h("input", { id: "transfer-memo", placeholder: "memo (optional)" });
  const form = h(
    "form",
    { class: "card toolbar", id: "transfer-form" },
    h("strong", {}, "Transfer"),
    to,
    amount,
    memo,
    h("button", { type: "submit" }, "Send"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { to: to.value.trim(), amount: amount.value.trim() };
      if (memo.value.trim()) body.memo = memo.value.trim();
      const t = await api("/v1/wallet/transfer", {
        method: "POST",
        body,
        headers: { "Idempotency-Key": idempotencyKey() },
      });
      replace(message, notice("ok", `Sent ${t.amount} to ${t.to_account} (${t.id}).`));
      form.reset();
      refresh();
    } catch (err) {
      replace(message, notice("error", err.message));
    }
  });

  prev.addEventListener("click", () => load(cursors.length - 2));
  next.addEventListener("click", () => load(cursors.length));
  replace(
    root,
    h("div", { class: "toolbar" }, h("h2", { class: "grow" }, "Wallet"), status),
    h("section", { class: "card" }, balance),
    form,
    message,
    h("h3", {}, "History"),
    h(
      "table",
      { id: "history-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["When", "Kind", "From", "To", "Amount", "Job", "Memo"].map((x) => h("th", {}, x)),
        ),
      ),
      body,
    ),
    h("div", { class: "toolbar" }, prev, pageLabel, next),
  );

  async function loadBalance() {
    try {
      const b = await api("/v1/wallet/balance");
      if (stopped) return;
      replace(
        balance,
        h("dt", {}, "Account"),
        h("dd", { class: "mono" }, b.account_id),
        h("dt", {}, "Balance"),
        h("dd", { id: "balance-value" }, b.balance),
        h("dt", {}, "In escrow"),
        h("dd", { id: "escrow-value" }, b.escrowed),
      );
    } catch (err) {
      replace(balance, notice("error", err.message));
    }
  }

  async function load(index) {
    const target = Math.max(0, index);
    const cursor = cursors[target] === undefined ? current.next_cursor : cursors[target];
    try {
      const got = await page("/v1/wallet/history", { limit: PAGE_SIZE, cursor });
      if (stopped) return;
      cursors.length = target + 1;
      cursors[target] = cursor;
      current = got;
      replace(body, got.items.map(row));
      if (!got.items.length)
        body.appendChild(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No transfers.")));
      prev.disabled = target === 0;
      next.disabled = !got.next_cursor;
      pageLabel.textContent = `page ${target + 1}`;
    } catch (err) {
      replace(message, notice("error", err.message));
    }
  }

  function refresh() {
    loadBalance();
    if (cursors.length === 1) load(0);
  }

  refresh();
  const stream = new EventStream([`account:${ctx.me.id}`], refresh, {
    onStatus: (st, detail) => {
      status.classList.toggle("on", st === "live");
      status.textContent = st === "live" ? "live" : `${st} ${detail}`;
    },
  });
  return () => {
    stopped = true;
    stream.stop();
  };
}
