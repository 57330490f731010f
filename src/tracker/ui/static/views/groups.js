// Grouped curves (in the workspace's sweep panel): the runs grouped by one config key's
// value, each group one line, the mean of its runs, in a band from their lowest to their
// highest value (the spread of seeds), in the group's colour. The server computes the
// groups on one step grid (/api/groups); the legend names each group and its number of
// runs, and a click on a name hides it. Drawn with BokehJS, as the other charts. As the
// workspace's charts, x is fitted to most runs: it ends where fewer than half of the runs
// still have a value (one long run in a group does not squash the others), and a note
// says how many go on past it, with a click to show every step.

import { loadCharts, numberAxes, numberHover } from "../charts.js";
import { api, el, fmt } from "../common.js";
import { cut } from "./axes.js";

export function groupLabel(value) {
  return value === null || value === undefined ? "not set" : cut(fmt(value), 40);
}

// node: the chart's box; filters: the workspace's run filters (URLSearchParams); key: the
// config key; metric: the metric; colorOf(value) -> a group's colour.
export async function drawGroups(node, filters, key, metric, colorOf) {
  const wanted = `${key}\n${metric}`;
  node.wanted = wanted;
  node.dataset.drawn = "0";
  const points = Math.max(100, Math.min(1000, Math.round((node.clientWidth || 600) / 2)));
  const query = new URLSearchParams([...filters, ["key", key], ["metric", metric], ["points", String(points)]]);
  // the server reads the curves while the browser compiles BokehJS (asking after it was
  // no faster for the workspace's first charts: benchmarks/bench_groups.py)
  const [answer] = await Promise.all([api(`/api/groups?${query}`), loadCharts()]);
  if (node.wanted !== wanted) return;  // another key or metric was picked meanwhile
  const { ColumnDataSource, HoverTool, Legend, LegendItem } = Bokeh;
  const plot = Bokeh.Plotting.figure({
    height: 300, width: Math.max(300, node.clientWidth || 600),
    x_axis_label: answer.x === "time" ? "time since start (s)" : "step", y_axis_label: metric,
    tools: "pan,wheel_zoom,box_zoom,reset,save", toolbar_location: "right", min_border_left: 50,
  });
  plot.toolbar.logo = null;
  numberAxes(plot);
  plot.title.text = `${metric} by ${key}`;
  plot.title.text_font_size = "13px";
  const lines = [], items = [];
  for (const group of answer.groups) {
    const color = colorOf(group.value), label = groupLabel(group.value);
    const source = new ColumnDataSource({ data: { x: group.steps, mean: group.mean, low: group.min,
      high: group.max, count: group.count, group: group.steps.map(() => label) } });
    const band = plot.varea({ x: { field: "x" }, y1: { field: "low" }, y2: { field: "high" }, source,
      fill_color: color, fill_alpha: 0.18 });
    const line = plot.line({ x: { field: "x" }, y: { field: "mean" }, source, line_color: color, line_width: 2 });
    lines.push(line);
    items.push(new LegendItem({ label: { value: `${label} (${group.runs.length} run${group.runs.length === 1 ? "" : "s"})` }, renderers: [line, band] }));
  }
  plot.add_tools(new HoverTool({
    renderers: lines, mode: "vline",
    formatters: { "@x": numberHover(), "@mean": numberHover(), "@low": numberHover(), "@high": numberHover() },
    tooltips: [["group", "@group"], ["x", "@x{custom}"], ["mean", "@mean{custom}"], ["min", "@low{custom}"],
      ["max", "@high{custom}"], ["runs", "@count"]],
  }));
  plot.add_layout(new Legend({ items, ncols: Math.min(3, items.length), click_policy: "hide",
    label_text_font_size: "11px", glyph_width: 16, spacing: 4 }), "below");
  if (node.chart) node.chart.view.remove();
  node.replaceChildren();
  node.chart = { plot, view: await Bokeh.Plotting.show(plot, node) };
  const cut = fitToMost(plot, answer.groups);  // once shown: a range set before is recomputed
  if (cut) {
    const note = el("p", { class: "cut-note note" }, `${cut.past} run${cut.past === 1 ? " goes" : "s go"} on past this range `,
      el("button", { class: "link", onclick: () => { node.chart.view.reset_range(); note.remove(); } }, "→ show all"));
    note.dataset.cut = String(cut.past);
    node.append(note);
  }
  node.dataset.groups = String(answer.groups.length);
  node.dataset.missing = String(answer.missing.length);
  node.dataset.drawn = "1";
}

// Where most runs end: the last step at which at least half of the most runs ever counted
// at one step still have a value (each group on its own grid: a group's count at a step is
// that of its last point at or before it, none past its end). Sets the plot's x range there
// when runs go on well past it (and says how many: {past}), else leaves it (null).
function fitToMost(plot, groups) {
  const xs = [...new Set(groups.flatMap((g) => g.steps))].sort((a, b) => a - b);
  if (xs.length < 2) return null;
  const at = groups.map(() => -1);
  const total = xs.map((x) => groups.reduce((n, g, k) => {
    while (at[k] + 1 < g.steps.length && g.steps[at[k] + 1] <= x) at[k] += 1;
    return n + (at[k] >= 0 && x <= g.steps[g.steps.length - 1] ? g.count[at[k]] || 0 : 0);
  }, 0));
  const most = total.reduce((m, n) => Math.max(m, n), 0);
  let end = -1;
  total.forEach((n, i) => { if (n * 2 >= most) end = i; });
  const last = xs[xs.length - 1];
  if (end < 0 || xs[end] >= 0.8 * last) return null;
  const past = total.slice(end + 1).reduce((m, n) => Math.max(m, n), 0);
  const pad = (xs[end] - xs[0]) * 0.02;
  plot.x_range.setv({ start: xs[0] - pad, end: xs[end] + pad });
  plot.x_range.have_updated_interactively = true;  // held until "reset" or "show all"
  return { past };
}
