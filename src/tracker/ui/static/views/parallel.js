// Parallel coordinates (in the workspace's sweep panel): one vertical axis per config key
// that varies, the chosen metric's final value last, and one line per run through its
// values, coloured by that final value (dark: low, yellow: high). A run without a value
// crosses its axis below the axis's end ("not set"). Hover a line for its run, click it to
// open the run; drag along an axis to keep only the runs crossing it there (on several
// axes: those crossing all), click the axis to let go. Drawn as SVG: a few hundred lines
// need no chart library.

import { el, fmt, num } from "../common.js";
import { UNSET, cut, rampColor, scaleOf, spaceOut, svg, text } from "./axes.js";

const HEIGHT = 320, TOP = 44, BOTTOM = 36, LEFT = 40, RIGHT = 110;
export const MAX_AXES = 12;
const MAX_CATEGORIES = 30;  // a text set per run (an output folder) makes no useful axis

// The keys drawn as axes: numbers, and texts of at most MAX_CATEGORIES values.
export function axesOf(params) {
  return params.filter((p) => p.kind === "number" || p.values.length <= MAX_CATEGORIES).slice(0, MAX_AXES);
}

// node: the panel's box; data: /api/params's answer; metric: the metric axis.
export function drawParallel(node, data, metric) {
  const axes = axesOf(data.params);
  const width = Math.max(520, node.clientWidth || 800);
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const columns = [...axes.map((p) => ({ name: p.key, scale: scaleOf(p.kind, data.runs.map((r) => r.params[p.key]),
    p.kind === "category" ? p.values : null), value: (run) => run.params[p.key] })),
  { name: metric, metric: true, scale: scaleOf("number", data.runs.map((r) => r.final[metric] ?? null)),
    value: (run) => run.final[metric] ?? null }];
  const step = (width - LEFT - RIGHT) / Math.max(1, columns.length - 1);
  const xOf = (i) => LEFT + i * step;
  const yOf = (position) => (position === UNSET ? TOP + plotHeight + 22 : TOP + (1 - position) * plotHeight);
  const metricScale = columns[columns.length - 1].scale;

  const lines = data.runs.map((run) => {
    const final = num(run.final[metric]);
    const at = metricScale.at(run.final[metric] ?? null);
    const ys = columns.map((c) => yOf(c.scale.at(c.value(run))));
    const points = ys.map((y, i) => `${xOf(i).toFixed(1)},${y.toFixed(1)}`);
    return { at, ys, node: svg("polyline", { class: "run", points: points.join(" "), stroke: rampColor(at),
      "data-run": run.id }, svg("title", {}, `${run.name}\n${metric}: ${fmt(final ?? null)}`)) };
  });
  lines.sort((a, b) => a.at - b.at);  // the highest last, on top; runs without the metric first

  // brushes: axis -> [top, bottom] in pixels; a line is kept when it crosses every brush
  const brushes = new Map();
  const filter = () => {
    let kept = 0;
    for (const line of lines) {
      const inside = [...brushes].every(([i, [top, bottom]]) => line.ys[i] >= top && line.ys[i] <= bottom);
      line.node.classList.toggle("faded", !inside);
      kept += inside;
    }
    node.dataset.kept = String(kept);
  };
  const brushable = (i, x) => {
    const mark = svg("rect", { class: "brush", x: x - 7, width: 14, y: 0, height: 0, visibility: "hidden" });
    const area = svg("rect", { class: "brush-area", x: x - 10, width: 20, y: TOP - 6, height: plotHeight + 36,
      "data-axis": String(i) });
    let start = null;
    const yIn = (event) => event.clientY - area.ownerSVGElement.getBoundingClientRect().top;
    const show = (top, bottom) => {
      mark.setAttribute("y", String(top));
      mark.setAttribute("height", String(bottom - top));
      mark.setAttribute("visibility", "visible");
    };
    area.addEventListener("pointerdown", (event) => {
      start = yIn(event);
      area.setPointerCapture(event.pointerId);
    });
    area.addEventListener("pointermove", (event) => {
      if (start !== null) show(Math.min(start, yIn(event)), Math.max(start, yIn(event)));
    });
    area.addEventListener("pointerup", (event) => {
      const end = yIn(event);
      if (start === null) return;
      if (Math.abs(end - start) < 3) {  // a click: let go of this axis
        brushes.delete(i);
        mark.setAttribute("visibility", "hidden");
      } else {
        brushes.set(i, [Math.min(start, end), Math.max(start, end)]);
      }
      start = null;
      filter();
    });
    return [mark, area];
  };

  const axisNodes = columns.map((c, i) => {
    const x = xOf(i);
    return svg("g", { class: c.metric ? "axis metric" : "axis" },
      svg("line", { x1: x, x2: x, y1: TOP, y2: TOP + plotHeight }),
      text(x, TOP - 22, cut(c.name, 22), { class: "name", "text-anchor": i === 0 ? "start" : i === columns.length - 1 ? "end" : "middle" }),
      svg("title", {}, c.scale.log ? `${c.name} (log scale)` : c.name),
      c.scale.ticks.map(([at, label]) => text(x + 5, yOf(at) + 4, label, { class: "tick" })),
      c.scale.unset ? text(x + 5, yOf(UNSET) + 4, "not set", { class: "tick" }) : null,
      brushable(i, x));
  });
  const box = svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: "img",
    "aria-label": `parallel coordinates of ${data.runs.length} runs` },
  svg("g", { class: "lines" }, lines.map((line) => line.node)), axisNodes);
  box.addEventListener("click", (event) => {
    const run = event.target.closest("polyline.run");
    if (run) location.href = `/runs/${encodeURIComponent(run.dataset.run)}`;
  });
  const hidden = data.params.length - axes.length;
  node.replaceChildren(box, hidden ? el("p", { class: "note" },
    `${hidden} more varying key${hidden === 1 ? "" : "s"} not drawn (a text set per run, or past ${MAX_AXES} axes).`) : "");
  for (const axis of box.querySelectorAll("g.axis")) spaceOut(axis.querySelectorAll("text.tick"), "y");
  node.dataset.lines = String(lines.length);
  node.dataset.kept = String(lines.length);
  node.dataset.axes = String(columns.length);
}
