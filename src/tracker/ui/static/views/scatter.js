// Parameter against metric (in the workspace's sweep panel): one point per run, a config
// key's value across, the chosen metric's final value up; in its group's colour when the
// runs are grouped. A learning rate spread over decades gets a log axis; a text key one
// slot per value (points spread a little within it). A run without the key sits at
// "not set", left of the axis; a run without the metric is left out and counted below.
// Tick labels that would overlap the one before are not drawn (the first, "not set", stays). Hover a point for
// its run, click it to open the run. Drawn as SVG, as parallel.js.

import { el, fmt, num } from "../common.js";
import { UNSET, cut, scaleOf, spaceOut, svg, text } from "./axes.js";

const HEIGHT = 320, TOP = 16, BOTTOM = 52, LEFT = 78, RIGHT = 24, UNSET_GAP = 84;

// node: the panel's box; data: /api/params's answer; key: the config key across; metric:
// the metric up; colorOf(run) -> its colour.
export function drawScatter(node, data, key, metric, colorOf) {
  const param = data.params.find((p) => p.key === key);
  const width = Math.max(420, node.clientWidth || 600);
  const placed = data.runs.filter((run) => Number.isFinite(num(run.final[metric])));
  const xScale = scaleOf(param.kind, placed.map((r) => r.params[key]), param.kind === "category" ? param.values : null);
  const yScale = scaleOf("number", placed.map((r) => r.final[metric]));
  const left = LEFT + (xScale.unset ? UNSET_GAP : 0), plotWidth = width - left - RIGHT - 12;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const xOf = (position) => (position === UNSET ? LEFT + UNSET_GAP / 2 : left + 6 + position * plotWidth);
  const yOf = (position) => TOP + 6 + (1 - position) * (plotHeight - 12);
  const spread = param.kind === "category" ? Math.min(14, plotWidth / Math.max(1, param.values.length) / 4) : 0;

  const points = placed.map((run, i) => {
    const x = xOf(xScale.at(run.params[key])) + (((i * 0.618034) % 1) - 0.5) * 2 * spread;
    const y = yOf(yScale.at(run.final[metric]));
    return svg("circle", { class: "run", cx: x.toFixed(1), cy: y.toFixed(1), r: 5, fill: colorOf(run),
      "data-run": run.id },
    svg("title", {}, `${run.name}\n${key}: ${fmt(run.params[key])}\n${metric}: ${fmt(num(run.final[metric]))}`));
  });
  const bottom = TOP + plotHeight;
  const box = svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: "img",
    "aria-label": `${metric} against ${key} for ${placed.length} runs` },
  svg("g", { class: "axis" },
    svg("line", { x1: LEFT, x2: width - RIGHT, y1: bottom, y2: bottom }),
    svg("line", { x1: LEFT, x2: LEFT, y1: TOP, y2: bottom }),
    xScale.unset ? text(xOf(UNSET), bottom + 16, "not set", { class: "tick x", "text-anchor": "middle" }) : null,
    xScale.ticks.map(([at, label]) => text(xOf(at), bottom + 16, label, { class: "tick x", "text-anchor": "middle" })),
    yScale.ticks.map(([at, label]) => text(LEFT - 6, yOf(at) + 4, label, { class: "tick y", "text-anchor": "end" })),
    text(left + plotWidth / 2, HEIGHT - 8, cut(key + (xScale.log ? " (log)" : ""), 60), { class: "name", "text-anchor": "middle" }),
    text(12, TOP + plotHeight / 2, cut(metric + (yScale.log ? " (log)" : ""), 40), { class: "name", "text-anchor": "middle",
      transform: `rotate(-90 12 ${TOP + plotHeight / 2})` })),
  svg("g", { class: "points" }, points));
  box.addEventListener("click", (event) => {
    const run = event.target.closest("circle.run");
    if (run) location.href = `/runs/${encodeURIComponent(run.dataset.run)}`;
  });
  const leftOut = data.runs.length - placed.length;
  node.replaceChildren(box, leftOut ? el("p", { class: "note" }, `${leftOut} runs without a final ${metric} left out.`) : "");
  spaceOut(box.querySelectorAll("text.tick.x"), "x");
  spaceOut(box.querySelectorAll("text.tick.y"), "y");
  node.dataset.points = String(points.length);
}
