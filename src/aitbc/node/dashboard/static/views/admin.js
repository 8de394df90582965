// Admin tools, as far as the API offers them: create principals (the key is shown once)
// and mint funds with the faucet. The node has no API to list principals or keys.

import { api, ApiError } from "../api.js";
import { h, notice, replace } from "../dom.js";

export function render(root, route, ctx) {
  if (ctx.me.role !== "admin") {
    replace(root, h("h2", {}, "Admin"), notice("error", "403 forbidden: admin only."));
    return () => {};
  }
  const role = h(
    "select",
    { id: "principal-role" },
    ["client", "miner", "admin"].map((r) => h("option", { value: r }, r)),
  );
  const name = h("input", { id: "principal-name", placeholder: "name", required: true });
  const created = h("div", { id: "principal-created" });
  const principalForm = h(
    "form",
    { class: "card toolbar", id: "principal-form" },
    h("strong", {}, "New principal"),
    role,
    name,
    h("button", { type: "submit" }, "Create"),
  );
  principalForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const got = await api("/v1/admin/principals", {
        method: "POST",
        body: { role: role.value, name: name.value },
      });
      replace(
        created,
        notice(
          "ok",
          `Created ${got.principal.role} ${got.principal.name} (${got.principal.id}). Its API key is shown once:`,
        ),
        h("pre", { class: "secret", id: "new-api-key" }, got.api_key),
      );
      principalForm.reset();
    } catch (err) {
      replace(created, notice("error", err.message));
    }
  });
  const account = h("input", { id: "faucet-account", placeholder: "prn_…", required: true });
  const amount = h("input", { id: "faucet-amount", placeholder: "amount", required: true });
  const minted = h("div", { id: "faucet-result" });
  const faucetForm = h(
    "form",
    { class: "card toolbar", id: "faucet-form" },
    h("strong", {}, "Faucet"),
    account,
    amount,
    h("button", { type: "submit" }, "Mint"),
  );
  faucetForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const t = await api("/v1/admin/faucet", {
        method: "POST",
        body: { account_id: account.value.trim(), amount: amount.value.trim() },
      });
      replace(minted, notice("ok", `Minted ${t.amount} into ${t.to_account} (${t.id}).`));
      faucetForm.reset();
    } catch (err) {
      const text = err instanceof ApiError ? err.message : String(err);
      replace(minted, notice("error", text));
    }
  });
  replace(
    root,
    h("h2", {}, "Admin"),
    h(
      "p",
      { class: "muted" },
      "The API has no listing of principals or keys; keys are shown once, when created.",
    ),
    principalForm,
    created,
    faucetForm,
    minted,
  );
  return () => {};
}
