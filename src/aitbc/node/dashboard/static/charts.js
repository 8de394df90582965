// Small inline-SVG line charts (no library): a series of {t: Date, v: number} points
// over a fixed time window, with the latest value and the range printed beside it.

import { h, s } from "./dom.js";

const W = 300;
const H = 100;

export function lineChart(title, points, { from, to, unit = "" } = {}) {
  const t0 = (from || (points[0] && points[0].t) || new Date()).getTime();
  const t1 = (to || new Date()).getTime();
  const values = points.map((p) => p.v);
  const max = Math.max(1, ...values);
  const x = (t) => (t1 === t0 ? 0 : ((t.getTime() - t0) / (t1 - t0)) * W);
  const y = (v) => H - (v / max) * (H - 8) - 2;
  const path = points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
  const last = points.length ? points[points.length - 1].v : 0;
  const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": title },
    s("line", { x1: 0, y1: H - 1, x2: W, y2: H - 1, stroke: "#d9dde3" }),
    s("polyline", { points: path, fill: "none", stroke: "#2f5bd3", "stroke-width": 2 }),
  );
  return h(
    "div",
    { class: "chart", dataset: { chart: title } },
    h("h4", {}, title),
    svg,
    h(
      "div",
      { class: "muted" },
      `now ${fmt(last)}${unit} · max ${fmt(max)}${unit} · ${points.length} points`,
    ),
  );
}
