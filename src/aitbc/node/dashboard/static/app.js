// The dashboard shell: the key prompt, the navigation, and a hash router. Each view is a
// module with render(root, route, ctx) that returns a cleanup function (streams, timers).

import { api, apiKey, forgetApiKey, setApiKey, ApiError } from "./api.js";
import { h, replace, notice } from "./dom.js";
import * as jobs from "./views/jobs.js";
import * as job from "./views/job.js";
import * as marketplace from "./views/marketplace.js";
import * as wallet from "./views/wallet.js";
import * as receipts from "./views/receipts.js";
import * as settlements from "./views/settlements.js";
import * as nodeView from "./views/node.js";
import * as admin from "./views/admin.js";

const VIEWS = { jobs, marketplace, wallet, receipts, settlements, node: nodeView, admin };
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
let cleanup = () => {};
let ctx = null;

/** "#/jobs/job_1?state=RUNNING" -> {view: "jobs", id: "job_1", params: URLSearchParams} */
export function parseRoute(hash) {
  const text = hash.replace(/^#\/?/, "");
  const [path, query] = text.split("?", 2);
  const [view, ...rest] = path.split("/").filter(Boolean);
  return {
    view: view || "jobs",
    id: rest.length ? decodeURIComponent(rest.join("/")) : null,
    params: new URLSearchParams(query || ""),
  };
}

function showLogin(message) {
  nav.hidden = true;
  replace(who);
  const input = h("input", {
    type: "password",
    id: "api-key",
    autocomplete: "off",
    placeholder: "ak_…",
    required: true,
  });
  const form = h(
    "form",
    { class: "card login", id: "login" },
    h("h2", {}, "Sign in with an API key"),
    h(
      "p",
      { class: "muted" },
      "The key stays in this tab's session storage and is sent only as the X-API-Key header.",
    ),
    message ? notice("error", message) : null,
    h("label", { for: "api-key" }, "API key"),
    input,
    h("button", { type: "submit" }, "Open dashboard"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    start();
  });
  replace(main, form);
  input.focus();
}

function signOut() {
  cleanup();
  cleanup = () => {};
  forgetApiKey();
  ctx = null;
  showLogin();
}

async function start() {
  if (!apiKey()) {
    showLogin();
    return;
  }
  try {
    const [me, info] = await Promise.all([api("/v1/me"), api("/v1/info")]);
    ctx = { me, info };
  } catch (err) {
    forgetApiKey();
    const reason =
      err instanceof ApiError && err.status === 401
        ? "That key is not known to this node."
        : err.message;
    showLogin(reason);
    return;
  }
  nav.hidden = false;
  document.getElementById("nav-admin").hidden = ctx.me.role !== "admin";
  replace(
    who,
    h("span", { id: "whoami" }, `${ctx.me.name} · ${ctx.me.role}`),
    h("button", { class: "secondary", id: "sign-out", onclick: signOut }, "Sign out"),
  );
  route();
}

function route() {
  if (!ctx) return;
  cleanup();
  cleanup = () => {};
  const r = parseRoute(location.hash);
  const view = r.view === "jobs" && r.id ? job : VIEWS[r.view];
  for (const a of nav.querySelectorAll("a")) {
    a.classList.toggle("active", a.dataset.view === r.view);
  }
  const root = h("div", { id: `view-${r.view}` });
  replace(main, root);
  if (!view) {
    root.appendChild(notice("error", `No view named ${r.view}.`));
    return;
  }
  try {
    cleanup = view.render(root, r, ctx) || (() => {});
  } catch (err) {
    root.appendChild(notice("error", err.message));
  }
}

window.addEventListener("hashchange", route);
start();
