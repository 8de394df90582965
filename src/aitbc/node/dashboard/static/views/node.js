// The node: health, version, chain id, keys, and charts of the last hour computed from the
// jobs the caller may see (GET /v1/jobs, newest first, paged until an hour back).

import { api, page } from "../api.js";
import { lineChart } from "../charts.js";
import { h, notice, replace } from "../dom.js";

const HOUR_MS = 3600_000;
const MINUTE_MS = 60_000;
const PAGE_LIMIT = 200;
const MAX_PAGES = 10; // at most 2,000 jobs: the view stays quick on a busy node
const REFRESH_MS = 15_000;
const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELED", "EXPIRED"]);

async function recentJobs(since) {
  const jobs = [];
  let cursor = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const got = await page("/v1/jobs", { limit: PAGE_LIMIT, cursor });
    for (const job of got.items) {
      if (new Date(job.created_at).getTime() < since) return { jobs, capped: false };
      jobs.push(job);
    }
    if (!got.next_cursor) return { jobs, capped: false };
    cursor = got.next_cursor;
  }
  return { jobs, capped: true };
}

function median(values) {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Per-minute series over [now - 1 h, now] from the jobs' own timestamps. */
export function hourSeries(jobs, now) {
  const start = now - HOUR_MS;
  const minutes = Array.from({ length: 60 }, (_, i) => start + (i + 1) * MINUTE_MS);
  const created = jobs.map((j) => new Date(j.created_at).getTime());
  const updated = jobs.map((j) => new Date(j.updated_at).getTime());
  const perMinute = [];
  const depth = [];
  const latency = [];
  const earnings = [];
  minutes.forEach((end) => {
    const begin = end - MINUTE_MS;
    let made = 0;
    let open = 0;
    let earned = 0;
    const took = [];
    jobs.forEach((job, i) => {
      if (created[i] > begin && created[i] <= end) made += 1;
      // A job is open (queued or running) from creation until its terminal update.
      if (created[i] <= end && (!TERMINAL.has(job.state) || updated[i] > end)) open += 1;
      if (job.state === "COMPLETED" && updated[i] > begin && updated[i] <= end) {
        took.push((updated[i] - created[i]) / 1000);
        earned += Number(job.price);
      }
    });
    const t = new Date(end);
    perMinute.push({ t, v: made });
    depth.push({ t, v: open });
    latency.push({ t, v: median(took) });
    earnings.push({ t, v: earned });
  });
  return { perMinute, depth, latency, earnings };
}

export function render(root, route, ctx) {
  const facts = h("dl", { class: "kv", id: "node-facts" });
  const charts = h("div", { class: "grid", id: "node-charts" });
  const message = h("div", { id: "node-message" });
  let stopped = false;
  replace(
    root,
    h("h2", {}, "Node"),
    h("section", { class: "card" }, facts),
    h("h3", {}, "The last hour"),
    h(
      "p",
      { class: "muted" },
      ctx.me.role === "admin" ? "From every job on the node." : "From the jobs visible to you.",
    ),
    message,
    charts,
  );

  async function load() {
    const now = Date.now();
    try {
      const [health, info, stats, recent] = await Promise.all([
        api("/health"),
        api("/v1/info"),
        api("/v1/marketplace/stats"),
        recentJobs(now - HOUR_MS),
      ]);
      if (stopped) return;
      const queued = recent.jobs.filter((j) => j.state === "QUEUED").length;
      const running = recent.jobs.filter((j) => j.state === "RUNNING").length;
      replace(
        facts,
        h("dt", {}, "Health"),
        h("dd", { id: "node-health" }, health.status),
        h("dt", {}, "Version"),
        h("dd", { id: "node-version" }, info.version),
        h("dt", {}, "Chain id"),
        h("dd", { id: "node-chain" }, String(info.chain_id)),
        h("dt", {}, "Coordinator"),
        h("dd", { class: "mono" }, info.coordinator_id),
        h("dt", {}, "Signing keys"),
        h(
          "dd",
          { class: "mono" },
          info.signing_keys.map((k) => `${k.key_id} (${k.alg})`).join(", "),
        ),
        h("dt", {}, "Jobs this hour"),
        h(
          "dd",
          { id: "node-jobs-hour" },
          `${recent.jobs.length}${recent.capped ? "+ (newest shown)" : ""} · ${queued} queued · ${running} running`,
        ),
        h("dt", {}, "Open offers"),
        h("dd", {}, `${stats.open_offers} (capacity ${stats.open_capacity})`),
      );
      const series = hourSeries(recent.jobs, now);
      const window = { from: new Date(now - HOUR_MS), to: new Date(now) };
      replace(
        charts,
        lineChart("Jobs per minute", series.perMinute, window),
        lineChart("Queue depth (open jobs)", series.depth, window),
        lineChart("Job latency (median, s)", series.latency, { ...window, unit: " s" }),
        lineChart("Miner earnings per minute", series.earnings, window),
      );
      replace(message);
    } catch (err) {
      replace(message, notice("error", err.message));
    }
  }

  load();
  const timer = setInterval(load, REFRESH_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
