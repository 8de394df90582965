// One job: its fields, the live event timeline (replayed from the first event, then live),
// the payload and result as text, and its receipt with an in-browser verification.

import { api, ApiError } from "../api.js";
import { EventStream } from "../sse.js";
import { badge, h, link, notice, pretty, replace, when } from "../dom.js";
import { verifyReceipt } from "../verify.js";
import { verdictView } from "./receipts.js";

const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELED", "EXPIRED"]);

function summary(job) {
  const kv = [
    ["State", badge(job.state)],
    ["Type", job.job_type],
    ["Price", job.price],
    ["Client", job.client_id],
    ["Miner", job.miner_id || "—"],
    ["Attempts", String(job.attempts)],
    ["Created", when(job.created_at)],
    ["Updated", when(job.updated_at)],
    ["Expires", when(job.expires_at)],
    ["Error", job.error || "—"],
    ["Receipt", job.receipt_id || "—"],
  ];
  return h(
    "dl",
    { class: "kv", id: "job-summary" },
    kv.map(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { field: k.toLowerCase() } }, v)]),
  );
}

export function render(root, route, ctx) {
  const id = route.id;
  const head = h("div", { id: "job-head" });
  const timeline = h("ol", { class: "timeline", id: "job-timeline" });
  const payload = h("pre", { id: "job-payload" });
  const result = h("div", { id: "job-result" });
  const status = h("span", { class: "live", id: "live-status" });
  let stream = null;
  let stopped = false;
  let resultShown = false;

  replace(
    root,
    h(
      "div",
      { class: "toolbar" },
      h("h2", { class: "grow mono" }, `Job ${id}`),
      status,
      link("#/jobs", "← all jobs"),
    ),
    h("section", { class: "card" }, head),
    h(
      "div",
      { class: "grid" },
      h("section", { class: "card" }, h("h3", {}, "Timeline"), timeline),
      h("section", { class: "card" }, h("h3", {}, "Payload"), payload),
    ),
    h("section", { class: "card" }, h("h3", {}, "Result and receipt"), result),
  );

  async function showResult(job) {
    if (resultShown || stopped) return;
    if (job.state !== "COMPLETED") {
      replace(
        result,
        h(
          "p",
          { class: "muted" },
          TERMINAL.has(job.state) ? `No result: the job is ${job.state}.` : "Not finished yet.",
        ),
      );
      return;
    }
    resultShown = true;
    try {
      const got = await api(`/v1/jobs/${encodeURIComponent(id)}/result`);
      const verdict = h("div", { id: "job-receipt-verdict" });
      replace(
        result,
        h("h4", {}, "Result"),
        h("pre", { id: "job-result-body" }, pretty(got.result)),
        h(
          "h4",
          {},
          "Receipt ",
          link(
            `#/receipts/${encodeURIComponent(got.receipt.receipt_id || job.receipt_id)}`,
            "open in verifier",
          ),
        ),
        verdict,
        h("pre", { id: "job-receipt" }, pretty(got.receipt)),
      );
      replace(verdict, verdictView(await verifyReceipt(got.receipt, ctx.info)));
    } catch (err) {
      resultShown = false;
      replace(result, notice("error", err.message));
    }
  }

  let shown = null;

  function drawJob(job) {
    // The timeline replays from the first event: never draw an older copy over a newer one
    // (updated_at is ISO 8601 UTC, so text order is time order).
    if (shown && shown.updated_at > job.updated_at) return;
    shown = job;
    replace(head, summary(job));
    showResult(job);
  }

  api(`/v1/jobs/${encodeURIComponent(id)}`)
    .then((job) => {
      if (stopped) return;
      drawJob(job);
      payload.textContent = pretty(job.payload);
      stream = new EventStream(
        [`job:${id}`],
        (ev) => {
          timeline.appendChild(
            h(
              "li",
              { dataset: { event: ev.event } },
              h("strong", {}, ev.event),
              ` · #${ev.seq} · ${when(ev.data.updated_at)}`,
            ),
          );
          if (ev.data && ev.data.id === id) drawJob(ev.data);
        },
        {
          resumeFrom: 0,
          onStatus: (st, detail) => {
            status.classList.toggle("on", st === "live");
            status.textContent = st === "live" ? "live" : `${st} ${detail}`;
          },
        },
      );
    })
    .catch((err) => {
      const text =
        err instanceof ApiError && err.status === 404
          ? `No job ${id} visible to you.`
          : err.message;
      replace(head, notice("error", text));
    });

  return () => {
    stopped = true;
    if (stream) stream.stop();
  };
}
