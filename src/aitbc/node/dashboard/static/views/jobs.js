// The jobs list: state filter, search by id, cursor paging (never the whole table), and
// live rows from the event streams the caller may read.

import { api, page, ApiError } from "../api.js";
import { EventStream } from "../sse.js";
import { badge, h, link, notice, replace, short, table, when } from "../dom.js";

export const STATES = ["QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELED", "EXPIRED"];
const PAGE_SIZE = 50;
// Admins and miners have no single topic for "all jobs I may see": they refresh the first
// page on this period, and follow the per-client topics of the clients on screen.
const REFRESH_MS = 3000;

function row(job) {
  return h(
    "tr",
    { dataset: { jobId: job.id, state: job.state } },
    h("td", { class: "mono" }, link(`#/jobs/${encodeURIComponent(job.id)}`, job.id)),
    h("td", {}, job.job_type),
    h("td", {}, badge(job.state)),
    h("td", {}, job.price),
    h("td", { class: "mono" }, short(job.miner_id)),
    h("td", {}, when(job.created_at)),
    h("td", {}, when(job.updated_at)),
  );
}

/** The later of two copies of a job (updated_at is ISO 8601 UTC, so text order is time order). */
function newer(a, b) {
  return a && a.updated_at > b.updated_at ? a : b;
}

export function render(root, route, ctx) {
  const state = route.params.get("state") || "";
  const cursors = [null]; // cursor of each page seen, for "previous"
  let current = { items: [], next_cursor: null };
  const seen = new Map(); // job id -> the newest copy an event brought
  let stream = null;
  let timer = null;
  let stopped = false;

  const status = h("span", { class: "live", id: "live-status" }, "connecting…");
  const select = h(
    "select",
    { id: "state-filter", "aria-label": "state" },
    h("option", { value: "" }, "all states"),
    STATES.map((s) => h("option", { value: s }, s)),
  );
  select.value = state;
  select.addEventListener("change", () => {
    location.hash = select.value ? `#/jobs?state=${select.value}` : "#/jobs";
  });
  const search = h("input", { id: "job-search", placeholder: "job id", "aria-label": "job id" });
  const searchForm = h(
    "form",
    { class: "toolbar" },
    search,
    h("button", { type: "submit" }, "Open"),
  );
  const message = h("div", { id: "jobs-message" });
  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = search.value.trim();
    if (!id) return;
    try {
      await api(`/v1/jobs/${encodeURIComponent(id)}`);
      location.hash = `#/jobs/${encodeURIComponent(id)}`;
    } catch (err) {
      const text =
        err instanceof ApiError && err.status === 404
          ? `No job ${id} visible to you.`
          : err.message;
      replace(message, notice("error", text));
    }
  });
  const body = h("tbody", { id: "jobs-rows" });
  const pageLabel = h("span", { class: "muted", id: "page-label" });
  const prev = h("button", { class: "secondary", id: "prev-page" }, "← Newer");
  const next = h("button", { class: "secondary", id: "next-page" }, "Older →");
  prev.addEventListener("click", () => load(cursors.length - 2));
  next.addEventListener("click", () => load(cursors.length));

  replace(
    root,
    h("div", { class: "toolbar" }, h("h2", { class: "grow" }, "Jobs"), status),
    h(
      "div",
      { class: "toolbar" },
      h("label", {}, "State ", select),
      h("span", { class: "grow" }),
      searchForm,
    ),
    message,
    h(
      "table",
      { id: "jobs-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Job", "Type", "State", "Price", "Miner", "Created", "Updated"].map((x) =>
            h("th", {}, x),
          ),
        ),
      ),
      body,
    ),
    h("div", { class: "toolbar" }, prev, pageLabel, next),
  );

  function draw() {
    replace(body, current.items.map(row));
    if (!current.items.length)
      body.appendChild(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No jobs.")));
    prev.disabled = cursors.length <= 1;
    next.disabled = !current.next_cursor;
    pageLabel.textContent = `page ${cursors.length}`;
  }

  async function load(index) {
    // index: which page (0-based) to show; cursors[index] is its cursor.
    const target = Math.max(0, index);
    const cursor = cursors[target] === undefined ? current.next_cursor : cursors[target];
    try {
      const got = await page("/v1/jobs", { limit: PAGE_SIZE, cursor, params: { state } });
      if (stopped) return;
      cursors.length = target + 1;
      cursors[target] = cursor;
      // An event may have been applied while this page was in flight: keep the newer copy.
      got.items = got.items.map((j) => newer(seen.get(j.id), j));
      current = got;
      draw();
      replace(message);
      follow();
    } catch (err) {
      replace(message, notice("error", err.message));
    }
  }

  function onEvent(ev) {
    if (!ev.data || !ev.data.id) return;
    const jobData = newer(seen.get(ev.data.id), ev.data);
    seen.set(jobData.id, jobData);
    if (cursors.length > 1) return; // only the first page is live
    const existing = current.items.findIndex((j) => j.id === jobData.id);
    const matches = !state || jobData.state === state;
    if (existing >= 0) {
      if (matches) current.items[existing] = jobData;
      else current.items.splice(existing, 1);
    } else if (matches) {
      current.items.unshift(jobData);
      if (current.items.length > PAGE_SIZE) current.items.length = PAGE_SIZE;
    }
    draw();
  }

  function topicsToFollow() {
    if (ctx.me.role === "client") return [`jobs:${ctx.me.id}`];
    const clients = new Set(current.items.map((j) => j.client_id));
    if (ctx.me.role === "admin") return [...clients].slice(0, 64).map((c) => `jobs:${c}`);
    return current.items.slice(0, 64).map((j) => `job:${j.id}`);
  }

  function follow() {
    const topics = topicsToFollow();
    const key = topics.join(",");
    if (stream && stream.key === key) return;
    if (stream) stream.stop();
    stream = null;
    if (!topics.length) {
      status.textContent = ctx.me.role === "client" ? "" : "refreshing";
      return;
    }
    stream = new EventStream(topics, onEvent, {
      onStatus: (st, detail) => {
        status.classList.toggle("on", st === "live");
        status.textContent = st === "live" ? "live" : `${st} ${detail}`;
        if (st === "gap") load(0);
      },
    });
    stream.key = key;
  }

  load(0);
  if (ctx.me.role !== "client") {
    timer = setInterval(() => {
      if (cursors.length === 1) load(0);
    }, REFRESH_MS);
  }
  return () => {
    stopped = true;
    if (stream) stream.stop();
    if (timer) clearInterval(timer);
  };
}
