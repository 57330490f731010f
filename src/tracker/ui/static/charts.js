// The charts every view draws (BokehJS, loaded on first use): one chart per metric key,
// grouped by section; smoothing, x axis and log scale controls shared by all of a page's
// charts; event marks. Steps read as people write them (20k, 1.5M), and "fit x to most
// runs" cuts every chart's x range where most runs end when one run is far longer than the
// others.

import { PALETTE, api, el, eventColor, num, scaleFor, unitOf } from "./common.js";

const SECTIONS = ["train", "eval", "predict", "system"];

const FEW_POINTS = 60;  // curves this short also show their points
const view = { x: "auto", smooth: 0, log: false };  // auto: time for system/, else step
// BokehJS is preloaded by the page but run only once a page has asked for its charts' data
// (loadCharts): compiling it takes a few hundred milliseconds of the main thread, which
// would otherwise delay those requests. Scripts added with async = false run in order.
let chartsReady = null;
export function loadCharts() {
  if (!chartsReady) {
    const urls = [...document.querySelectorAll("link.charts")].map((link) => link.href);
    chartsReady = Promise.all(urls.map((url) => new Promise((resolve, reject) => {
      const script = el("script", { src: url, onload: resolve, onerror: reject });
      script.async = false;
      document.head.append(script);
    }))).then(() => Bokeh.set_log_level("error"));  // not a line per chart drawn
  }
  return chartsReady;
}

function section(key) {
  const head = key.split("/")[0];
  return key.includes("/") ? head : "other";
}

function groupBySection(keys) {
  const groups = new Map();
  for (const key of keys) {
    const name = section(key);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(key);
  }
  const rank = (name) => (SECTIONS.includes(name) ? SECTIONS.indexOf(name) : SECTIONS.length);
  return [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

// -- charts ----------------------------------------------------------------------------
// Exponential moving average with its start-up bias removed, as TensorBoard draws it.
// The average lies between the lowest and highest value so far: keeping it there stops
// rounding from turning a flat curve into a wobbly one.
function smooth(values, weight) {
  let average = 0, correction = 0, low = Infinity, high = -Infinity;
  return values.map((v) => {
    average = weight * average + (1 - weight) * v;
    correction = weight * correction + (1 - weight);
    low = Math.min(low, v);
    high = Math.max(high, v);
    return Math.min(high, Math.max(low, average / correction));
  });
}

// -- steps ---------------------------------------------------------------------------
// Tick labels of a step axis: 0, 2.5k, 5k, 200k, 1M, 1.25M, never 1.000e+6: each tick in
// the largest unit it reaches, with the decimals it needs and no more.
const STEP_UNITS = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];

function fmtStep(step) {
  const [div, suffix] = STEP_UNITS.find(([d]) => Math.abs(step) >= d) || [1, ""];
  return `${Number((step / div).toFixed(3))}${suffix}`;  // 0.1 + 0.2 reads 0.3
}

// BokehJS draws tick labels with a formatter model; this one is plain code (a CustomJS
// formatter would need eval, which the page's Content-Security-Policy forbids).
let StepFormatter = null;
function stepFormatter() {
  StepFormatter ??= class extends Bokeh.TickFormatter {
    doFormat(ticks) { return ticks.map(fmtStep); }
  };
  return new StepFormatter();
}

// -- fitting x --------------------------------------------------------------------------
// Every chart's x range, with its unit (steps, or seconds, minutes or hours since start),
// so that one click fits them all. (Plots drawn with Bokeh.Plotting.show are documents of
// their own, which cannot share one range model.)
const OUTLIER = 5;  // a run this many times longer than the median run is cut off by a fit
const xRanges = new Set();  // {range, mode, div, view} of each chart drawn
let fitted = null;  // {step, time (in s)}: where x ends while "fit x to most runs" is on

function trackXRange(plot, scale) {
  const entry = { range: plot.x_range, mode: scale.mode, div: scale.x.div };
  xRanges.add(entry);
  if (fitted) fitRange(entry);
  return entry;
}

// Where most runs end: the longest of `lengths` not more than OUTLIER times their median.
function mostEnd(lengths) {
  const sorted = lengths.filter((n) => Number.isFinite(n) && n > 0).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return sorted.filter((n) => n <= OUTLIER * median).pop();
}

function fitRange({ range, mode, div }) {
  const end = mode === "time" ? fitted.time / div : fitted.step;
  if (!(end > 0)) return;
  const pad = end * 0.02;
  range.setv({ start: -pad, end: end + pad });
  range.have_updated_interactively = true;  // held until "reset" or "every step"
}

// Fits every chart's x range to where most of the runs shown end (shownRuns: a function
// giving them, each with its step and duration), or (null) gives each range back to its
// lines.
let fitSource = null;
function fitX(shownRuns) {
  fitSource = shownRuns;
  const runs = shownRuns && shownRuns();
  fitted = runs && { step: mostEnd(runs.map((run) => run.step)),
                     time: mostEnd(runs.map((run) => run.duration)) };
  for (const entry of xRanges) {
    if (fitted) fitRange(entry);
    else if (entry.view) entry.view.reset_range();  // as its reset tool: fitted to its lines
    else entry.range.have_updated_interactively = false;  // not drawn yet: it fits when drawn
  }
}

// While x is fitted, fits it again to the runs shown now (a run was ticked or unticked).
export function refitX() {
  if (fitSource) fitX(fitSource);
}

function xMode(key) {
  return view.x === "auto" ? (key.startsWith("system/") ? "time" : "step") : view.x;
}

function curvePoints(curve, startedAt, mode, scale) {
  const x = mode === "time" ? curve.times.map((t) => (num(t) - startedAt) / scale.x.div) : curve.steps;
  return { x, y: curve.values.map((v) => num(v) / scale.y.div) };
}

// The units of a chart: y in the metric's unit scaled to its largest value, x in steps or
// in the time since each run started (s, min or h).
function chartScale(key, lines) {
  const top = (values) => Math.max(0, ...values.map((v) => Math.abs(num(v))).filter(Number.isFinite));
  const y = scaleFor(unitOf(key), Math.max(0, ...lines.map((line) => top(line.curve.values))));
  const mode = xMode(key);
  const span = Math.max(0, ...lines.map((line) => top(line.curve.times.map((t) => num(t) - line.startedAt))));
  return { mode, y, x: mode === "time" ? scaleFor("s", span) : { div: 1, label: "" } };
}

// A chart is a BokehJS plot drawn on a canvas: titles, axis labels, legends and tooltip
// values are drawn or set as text (tooltips escape their values), never parsed as HTML.
// node.chart holds the plot and its data sources so that a redraw (smoothing, x axis,
// new points of a running run) only replaces data; a change of the y scale or of the set of
// lines builds a new plot.
function chartTitle(key, lines) {
  const hidden = lines.reduce((n, line) => n + line.curve.nonfinite, 0);
  const shown = lines.reduce((n, line) => n + line.curve.steps.length, 0);
  const total = lines.reduce((n, line) => n + line.curve.count, 0);
  const notes = [];
  if (shown < total - hidden) notes.push(`${shown} of ${total} points`);
  if (hidden) notes.push(`${hidden} NaN/inf hidden`);
  return key + (notes.length ? ` (${notes.join(", ")})` : "");
}

function lineData(line, scale) {
  const { x, y } = curvePoints(line.curve, line.startedAt, scale.mode, scale);
  const names = new Array(x.length).fill(line.name);
  const raw = { x, y, name: names };
  const shown = { x, y: view.smooth > 0 ? smooth(y, view.smooth) : y, name: names };
  return { raw, shown };
}

function xLabel(scale) {
  return scale.mode === "time" ? `time since start (${scale.x.label})` : "step";
}

// A plot is as wide as its box, given in pixels: left to measure the box itself
// (sizing_mode "stretch_width"), BokehJS takes about a third longer to draw a first plot.
// When the box changes width (the window is resized), the plot follows. Curves are asked
// for at this width (width= of /api/curves and /api/runs/RUN/curve).
export function chartWidth(node) {
  return Math.max(300, node.clientWidth || 600);
}

const resized = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    const width = chartWidth(target);
    if (target.chart && target.chart.plot.width !== width) target.chart.plot.width = width;
  }
});

function newPlot(node, scale, marks) {
  const plot = Bokeh.Plotting.figure({
    height: 270, width: chartWidth(node), y_axis_type: view.log ? "log" : "linear",
    x_axis_label: xLabel(scale), y_axis_label: scale.y.label,
    tools: "pan,wheel_zoom,box_zoom,reset,save",
    toolbar_location: "right", min_border_left: 50, min_border_right: 12,
  });
  plot.toolbar.logo = null;
  plot.title.text_font_size = "13px";
  plot.x_range.only_visible = true;  // a line toggled off leaves the axes to the others
  plot.y_range.only_visible = true;
  if (scale.mode === "step") plot.xaxis.formatter = stepFormatter();
  for (const axes of [plot.xaxis, plot.yaxis]) {
    axes.axis_label_text_font_size = "11px";
    axes.axis_label_text_font_style = "normal";
  }
  // events (alerts first of all) as vertical marks at their step or time
  const spans = marks.map((mark) => {
    const span = new Bokeh.Span({ location: null, dimension: "height", line_color: mark.color,
      line_width: mark.kind === "alert" ? 2 : 1, line_dash: mark.kind === "alert" ? "solid" : "dashed",
      line_alpha: 0.8 });
    plot.add_layout(span);
    return span;
  });
  return { plot, spans, xRange: trackXRange(plot, scale) };
}

// A chart of a few lines: a line renderer each (and a legend whose names hide them).
function buildChart(node, lines, scale, marks) {
  const { ColumnDataSource, HoverTool, Legend, LegendItem } = Bokeh;
  const { plot, spans, xRange } = newPlot(node, scale, marks);
  const sources = [], lineRenderers = [], items = [];
  lines.forEach((line, i) => {
    const color = line.color || PALETTE[i % PALETTE.length];
    const raw = new ColumnDataSource({ data: { x: [], y: [], name: [] } });
    const shown = new ColumnDataSource({ data: { x: [], y: [], name: [] } });
    const faint = plot.line({ x: { field: "x" }, y: { field: "y" }, source: raw,
      line_color: color, line_width: 1, line_alpha: 0.25 });
    const main = plot.line({ x: { field: "x" }, y: { field: "y" }, source: shown,
      line_color: color, line_width: 1.6 });
    const dots = plot.scatter({ x: { field: "x" }, y: { field: "y" }, source: shown,
      fill_color: color, line_color: color, size: 5 });
    sources.push({ raw, shown, faint, dots, main });
    lineRenderers.push(main);
    items.push(new LegendItem({ label: { value: String(line.name) }, renderers: [main] }));
  });
  const unit = scale.y.label ? ` ${scale.y.label}` : "";
  plot.add_tools(new HoverTool({
    renderers: lineRenderers, mode: "vline",
    formatters: { "@y": "printf", ...(scale.mode === "step" ? {} : { "@x": "printf" }) },
    tooltips: [["run", "@name"], [xLabel(scale), scale.mode === "step" ? "@x{0,0}" : "@x{%.6g}"],
      ["value", `@y{%.6g}${unit}`]],
  }));
  if (lines.length > 1) {
    plot.add_layout(new Legend({ items, orientation: "horizontal", click_policy: "hide",
      label_text_font_size: "11px", glyph_width: 16, spacing: 12 }), "below");
  }
  return { plot, sources, spans, xRange, view: null };
}

// A chart of many lines (the workspace): one multi-line renderer for all of them, each in
// its colour, so that 50 runs cost BokehJS one renderer, not 150; a line toggled off is
// left out of the data. The side list is its legend.
function buildOverlay(node, lines, scale, marks) {
  const { ColumnDataSource, HoverTool } = Bokeh;
  const { plot, spans, xRange } = newPlot(node, scale, marks);
  const empty = () => new ColumnDataSource({ data: { xs: [], ys: [], color: [], name: [] } });
  const raw = empty(), shown = empty();
  const style = { xs: { field: "xs" }, ys: { field: "ys" }, line_color: { field: "color" } };
  const faint = plot.multi_line({ ...style, source: raw, line_width: 1, line_alpha: 0.25 });
  const main = plot.multi_line({ ...style, source: shown, line_width: 1.6 });
  const unit = scale.y.label ? ` ${scale.y.label}` : "";
  plot.add_tools(new HoverTool({
    renderers: [main],
    formatters: { "$y": "printf", ...(scale.mode === "step" ? {} : { "$x": "printf" }) },
    tooltips: [["run", "@name"], [xLabel(scale), scale.mode === "step" ? "$x{0,0}" : "$x{%.6g}"],
      ["value", `$y{%.6g}${unit}`]],
  }));
  return { plot, spans, xRange, overlay: { raw, shown, faint }, view: null };
}

// What every chart shows beside its lines: title, axis label, y range, event marks.
function updateFrame(chart, key, lines, scale, marks) {
  chart.plot.title.text = chartTitle(key, lines);
  chart.plot.xaxis.axis_label = xLabel(scale);
  // a flat curve (a constant learning rate) gets a y range around its value, not ±1
  // (a log axis's default span is in decades: it keeps 2)
  // a loop, not Math.max(...values): 100 runs at 4 points a pixel pass V8's argument limit
  const top = lines.reduce((m, line) => line.curve.values.reduce((a, v) => Math.max(a, Math.abs(num(v))), m), 0);
  const scaled = top / scale.y.div;
  chart.plot.y_range.default_span = !view.log && scaled > 0 && scaled < Infinity ? scaled : 2;
  marks.forEach((mark, i) => {
    const at = scale.mode === "time" ? (mark.at - mark.startedAt) / scale.x.div : mark.step;
    chart.spans[i].location = at === null || at === undefined ? null : at;
    chart.spans[i].visible = !mark.hidden && at !== null && at !== undefined;
  });
}

function updateChart(chart, key, lines, scale, marks) {
  updateFrame(chart, key, lines, scale, marks);
  if (chart.overlay) {
    const shownLines = lines.filter((line) => !line.hidden).map((line) => [line, lineData(line, scale)]);
    const columns = (part) => ({ xs: shownLines.map(([, data]) => data[part].x),
      ys: shownLines.map(([, data]) => data[part].y), color: shownLines.map(([line]) => line.color),
      name: shownLines.map(([line]) => String(line.name)) });
    chart.overlay.shown.data = columns("shown");
    chart.overlay.raw.data = columns("raw");
    chart.overlay.faint.visible = view.smooth > 0;
    return;
  }
  lines.forEach((line, i) => {
    const { raw, shown } = lineData(line, scale);
    const part = chart.sources[i];
    part.raw.data = raw;
    part.shown.data = shown;
    part.faint.visible = view.smooth > 0;
    part.dots.visible = shown.x.length < FEW_POINTS;
  });
}

// lines: [{name, curve, startedAt, color?, hidden?}], one line each (plus a faint raw one
// when smoothing); marks: [{kind, color, step, at, startedAt, hidden?}], events to mark.
// Draws run one after another per node; a draw asked for meanwhile replaces any waiting.
export async function drawChart(node, key, lines, marks = []) {
  await loadCharts();
  node.dataset.series = String(lines.length);
  node.wanted = { key, lines, marks };
  if (node.drawing) return node.drawing;
  node.drawing = drawWanted(node).finally(() => { node.drawing = null; });
  return node.drawing;
}

async function drawWanted(node) {
  await null;  // node.drawing is set before the first draw
  while (node.wanted) {
    const { key, lines, marks } = node.wanted;
    node.wanted = null;
    const scale = chartScale(key, lines);
    node.dataset.unit = scale.y.label;  // what the y axis (drawn on the canvas) says
    node.dataset.x = scale.mode === "time" ? `time (${scale.x.label})` : "step";
    const overlay = node.dataset.overlay === "1";
    const shape = JSON.stringify([view.log, scale.y.label, scale.x.label, marks.length,
      overlay ? "overlay" : lines.map((line) => String(line.name))]);
    if (node.chart && node.chart.shape === shape) {
      updateChart(node.chart, key, lines, scale, marks);
      continue;
    }
    const turn = building.then(async () => {
      if (node.chart) {
        xRanges.delete(node.chart.xRange);
        node.chart.view.remove();
      }
      const chart = (overlay ? buildOverlay : buildChart)(node, lines, scale, marks);
      chart.shape = shape;
      updateChart(chart, key, lines, scale, marks);
      node.replaceChildren();
      chart.view = await Bokeh.Plotting.show(chart.plot, node);
      chart.xRange.view = chart.view;
      node.chart = chart;
      resized.observe(node);
    });
    building = turn.catch(() => {});
    await turn;
  }
  node.dataset.drawn = "1";
}

// New plots are laid out one at a time, in the order asked: built together, the first
// would be drawn only once all of them are (BokehJS interleaves their layouts).
let building = Promise.resolve();

export async function fetchCurve(runId, key, node) {
  const query = new URLSearchParams({ key, width: String(chartWidth(node)) });
  return api(`/api/runs/${encodeURIComponent(runId)}/curve?${query}`);
}

// The controls of a page's charts; with `shownRuns` (a function giving the runs whose lines
// are shown, each with its step and duration), a button fits x to where most of them end.
export function chartControls(redraw, shownRuns) {
  const x = el("select", { "aria-label": "x axis", onchange: () => { view.x = x.value; redraw(); } },
    el("option", { value: "auto" }, "step (time for system/)"), el("option", { value: "step" }, "step"),
    el("option", { value: "time" }, "time"));
  x.value = view.x;
  const label = el("span", { class: "note" }, String(view.smooth));
  const smoothing = el("input", { type: "range", min: "0", max: "0.99", step: "0.01",
    value: String(view.smooth), "aria-label": "smoothing",
    oninput: () => { view.smooth = Number(smoothing.value); label.textContent = smoothing.value; redraw(); } });
  const log = el("input", { type: "checkbox", "aria-label": "log scale",
    onchange: () => { view.log = log.checked; redraw(); } });
  log.checked = view.log;
  const fit = shownRuns ? el("button", { id: "fit-x", "aria-pressed": "false", onclick: () => {
    const on = fit.getAttribute("aria-pressed") !== "true";
    fitX(on ? shownRuns : null);
    fit.setAttribute("aria-pressed", String(on));
    fit.textContent = on ? "show every step" : "fit x to most runs";
  }, title: `x ends where most runs shown end: a run over ${OUTLIER}× the median length is cut off` },
  "fit x to most runs") : null;
  return el("div", { class: "bar" },
    el("label", {}, "x axis", x), el("label", {}, "smoothing", smoothing, label),
    el("label", {}, log, "log scale"), fit);
}

// An empty chart per key, grouped by section: {parts: sections, nodes: key -> chart}.
export function chartSections(keys) {
  const nodes = new Map();
  const parts = groupBySection(keys).map(([name, group]) => el("section", { class: "charts" },
    el("h2", {}, name === "other" ? "other" : `${name}/`),
    el("div", { class: "grid" }, group.map((key) => {
      const node = el("div", { class: "chart", "data-key": key });
      nodes.set(key, node);
      return node;
    }))));
  return { parts, nodes };
}

// The events of runs as chart marks: [{kind, color, step, at, startedAt, run}].
export function marksOf(events, startedAt) {
  return events.map((e) => ({ kind: e.kind, color: eventColor(e), step: e.step, at: e.at,
    startedAt: startedAt(e.run), run: e.run }));
}
