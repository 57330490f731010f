// The charts every view draws (BokehJS, loaded on first use): one chart per metric key,
// grouped by section; smoothing, x axis (step, time or a metric) and log scale controls
// shared by all of a page's charts and kept in the address; event marks and their key.
// Numbers read alike on every axis and tooltip (numbers.js fmtNumber: 3e-4, 20k, 1.5M),
// and x is fitted to where most runs end when one run is far longer than the others (a
// note on the chart says which runs go on past it).

import { api, el, eventColor, keepInAddress, num, scaleFor, unitOf } from "./common.js";
import { fmtNumber, fmtTicks } from "./numbers.js";

const SECTIONS = ["train", "eval", "predict", "system"];

const FEW_POINTS = 60;  // curves this short also show their points
// What the address says of the charts: x ("auto": time for system/, else step; "step",
// "time" or a metric's key), smoothing, log scale, and whether x is fitted (fit=0: not).
const address = new URLSearchParams(location.search);
const view = { x: address.get("x") || "auto", smooth: Number(address.get("smooth")) || 0,
  log: address.get("log") === "1", fit: address.get("fit") !== "0" };

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
// A loop into a Float64Array, not a closure a point: it runs over every line of every
// chart drawn at each move of the slider.
function smooth(values, weight) {
  let average = 0, correction = 0, low = Infinity, high = -Infinity;
  const smoothed = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    average = weight * average + (1 - weight) * v;
    correction = weight * correction + (1 - weight);
    if (v < low) low = v;
    if (v > high) high = v;
    smoothed[i] = Math.min(high, Math.max(low, average / correction));
  }
  return smoothed;
}

// -- numbers ------------------------------------------------------------------------
// Tick labels and tooltip values by numbers.js's fmtTicks and fmtNumber: 0, 2.5k, 1M, 3e-4,
// never 1.000e-3 or 10000. Ticks stay BokehJS's own, at 1, 2 or 5 times a power of ten
// (a log axis: powers of ten). BokehJS writes them with formatter models; these are plain
// code (a CustomJS formatter would need eval, which the page's Content-Security-Policy
// forbids).
let NumberTicks = null, NumberHover = null;
export function numberAxes(plot) {
  NumberTicks ??= class extends Bokeh.TickFormatter {
    doFormat(ticks) { return fmtTicks(ticks); }
  };
  for (const axis of [...plot.xaxis, ...plot.yaxis]) axis.formatter = new NumberTicks();
}

// A tooltip's formatter for "@field{custom}" or "$y{custom}".
export function numberHover() {
  NumberHover ??= class extends Bokeh.CustomJSHover {
    format(value) { return fmtNumber(value, 4); }
  };
  return new NumberHover();
}

// -- fitting x --------------------------------------------------------------------------
// Every chart's x range, with its unit (steps, or seconds, minutes or hours since start),
// so that one click fits them all. (Plots drawn with Bokeh.Plotting.show are documents of
// their own, which cannot share one range model.)
const OUTLIER = 5;  // a run this many times longer than the median run is cut off by a fit
const xRanges = new Set();  // {range, mode, div, view} of each chart drawn
let fitted = null;  // {step, time (in s)}: where x ends while "fit x to most runs" is on

function trackXRange(plot, scale) {
  // ends: where each line shown ends, when x is a metric (set as the chart is drawn)
  const entry = { range: plot.x_range, mode: scale.mode, div: scale.x.div, ends: null };
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

// Where x ends on a chart while fitted (null: not fitted): against a metric, where most of
// its lines end.
function fittedEnd({ mode, div, ends }) {
  if (!fitted) return null;
  const end = mode === "metric" ? ends && mostEnd(ends) : mode === "time" ? fitted.time / div : fitted.step;
  return end > 0 ? end : null;
}

function fitRange(entry) {
  const { range } = entry, end = fittedEnd(entry);
  if (end === null) return;
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
  if (view.x === "auto") return key.startsWith("system/") ? "time" : "step";
  return view.x === "step" || view.x === "time" ? view.x : "metric";
}

// The metric x is when it is a metric (the server sends each curve's `xs` against it).
export function xMetric() {
  return view.x === "auto" || view.x === "step" || view.x === "time" ? null : view.x;
}

function curvePoints(curve, startedAt, mode, scale) {
  // the values as sent (a Float64Array of /api/curves?format=binary: drawn without a copy)
  // unless scaled to a unit
  const y = scale.y.div === 1 ? curve.values : curve.values.map((v) => num(v) / scale.y.div);
  if (mode === "time") return { x: curve.times.map((t) => (num(t) - startedAt) / scale.x.div), y };
  if (mode === "step") return { x: curve.steps, y };
  // against a metric: the points where it has a value (curve.xs, aligned with the steps)
  const xs = (curve.xs || []).map(num), x = [], kept = [];
  xs.forEach((v, i) => { if (typeof v === "number" && Number.isFinite(v)) { x.push(v); kept.push(y[i]); } });
  return { x, y: kept };
}

// The largest finite |v - from| of `values`: a loop, not Math.max(...values) (200 runs at
// 2 points a pixel pass V8's limit on a call's arguments), and no array made per line.
function largest(values, from = 0) {
  let top = 0;
  for (const value of values) {
    const v = Math.abs(num(value) - from);
    if (v > top && v !== Infinity) top = v;
  }
  return top;
}

// The units of a chart: y in the metric's unit scaled to its largest value (top), x in
// steps or in the time since each run started (s, min or h).
function chartScale(key, lines) {
  const top = lines.reduce((m, line) => Math.max(m, largest(line.curve.values)), 0);
  const y = scaleFor(unitOf(key), top);
  const mode = xMode(key);
  if (mode !== "time") return { mode, y, top, x: { div: 1, label: "" } };  // curves without times
  const span = lines.reduce((m, line) => Math.max(m, largest(line.curve.times, line.startedAt)), 0);
  return { mode, y, top, x: scaleFor("s", span) };
}

// A chart is a BokehJS plot drawn on a canvas: titles, axis labels, legends and tooltip
// values are drawn or set as text (tooltips escape their values), never parsed as HTML.
// node.chart holds the plot and its data sources so that a redraw (smoothing, x axis, a
// unit, a run hidden, new points of a running run) only replaces data and labels; a
// change of the log scale, the marks or (outside the workspace) the set of lines builds a
// new plot.
function chartTitle(key, lines) {
  const hidden = lines.reduce((n, line) => n + line.curve.nonfinite, 0);
  const shown = lines.reduce((n, line) => n + line.curve.steps.length, 0);
  const total = lines.reduce((n, line) => n + line.curve.count, 0);
  const notes = [];
  if (shown < total - hidden) notes.push(`${shown} of ${total} points`);
  if (hidden) notes.push(`${hidden} NaN/inf hidden`);
  return key + (notes.length ? ` (${notes.join(", ")})` : "");
}

// A line's points as drawn ({x, y}: shown, smoothed or not) and as logged (raw).
function lineData(line, scale) {
  const { x, y } = curvePoints(line.curve, line.startedAt, scale.mode, scale);
  return { raw: { x, y }, shown: { x, y: view.smooth > 0 ? smooth(y, view.smooth) : y } };
}

function xLabel(scale) {
  if (scale.mode === "metric") return view.x;
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

function cutNote() {
  return el("p", { class: "cut-note note", hidden: "" });
}

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
  numberAxes(plot);
  for (const axes of [plot.xaxis, plot.yaxis]) {
    axes.axis_label_text_font_size = "11px";
    axes.axis_label_text_font_style = "normal";
  }
  // events (alerts first of all) and checkpoints as vertical marks at their step or time
  const spans = marks.map((mark) => {
    const { dash, width } = markStyle(mark);
    const span = new Bokeh.Span({ location: null, dimension: "height", line_color: mark.color,
      line_width: width, line_dash: dash, line_alpha: 0.8 });
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
  for (const line of lines) {
    const { color } = line;
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
  }
  const hover = new HoverTool({ renderers: lineRenderers, mode: "vline", ...hoverText(scale, "@") });
  plot.add_tools(hover);
  if (lines.length > 1) {
    plot.add_layout(new Legend({ items, orientation: "horizontal", click_policy: "hide",
      label_text_font_size: "11px", glyph_width: 16, spacing: 12 }), "below");
  }
  return { plot, sources, spans, xRange, hover, view: null, note: cutNote() };
}

// A chart of many lines (the workspace): one multi-line renderer for all of them, each in
// its colour, so that 50 runs cost BokehJS one renderer, not 150; a line toggled off is
// left out of the data. The side list is its legend. Past THIN_PAST lines they are 1 px
// wide: the canvas draws a 1 px line much faster than a wider one (six charts of 200 runs
// at 2 points a pixel: 1.24 s against 1.94 s at 1.6 px, docs/benchmarks.md "Third pass").
const THIN_PAST = 20;

function buildOverlay(node, lines, scale, marks) {
  const { ColumnDataSource, HoverTool } = Bokeh;
  const { plot, spans, xRange } = newPlot(node, scale, marks);
  const empty = () => new ColumnDataSource({ data: { xs: [], ys: [], color: [], name: [] } });
  const raw = empty(), shown = empty();
  const style = { xs: { field: "xs" }, ys: { field: "ys" }, line_color: { field: "color" } };
  const faint = plot.multi_line({ ...style, source: raw, line_width: 1, line_alpha: 0.25 });
  const main = plot.multi_line({ ...style, source: shown, line_width: lines.length > THIN_PAST ? 1 : 1.6 });
  const hover = new HoverTool({ renderers: [main], ...hoverText(scale, "$") });
  plot.add_tools(hover);
  return { plot, spans, xRange, hover, overlay: { raw, shown, faint }, view: null, note: cutNote() };
}

// A tooltip's lines (the run, x and the value in its unit) and their formatters, for a
// line's fields (`at` "@": each point's x and y) or the place hovered ("$").
function hoverText(scale, at) {
  const unit = scale.y.label ? ` ${scale.y.label}` : "";
  return {
    formatters: { [`${at}y`]: numberHover(), ...(scale.mode === "step" ? {} : { [`${at}x`]: numberHover() }) },
    tooltips: [["run", "@name"], [xLabel(scale), scale.mode === "step" ? `${at}x{0,0}` : `${at}x{custom}`],
      ["value", `${at}y{custom}${unit}`]],
  };
}

// What every chart shows beside its lines: title, axis label, y range, event marks.
function updateFrame(chart, key, lines, scale, marks) {
  chart.plot.title.text = chartTitle(key, lines);
  setUnits(chart, scale);
  // a flat curve (a constant learning rate) gets a y range around its value, not ±1
  // (a log axis's default span is in decades: it keeps 2)
  const scaled = scale.top / scale.y.div;
  chart.plot.y_range.default_span = !view.log && scaled > 0 && scaled < Infinity ? scaled : 2;
  // (against a metric, a mark has no place: events are at a step or a time)
  marks.forEach((mark, i) => {
    const at = scale.mode === "time" ? (mark.at - mark.startedAt) / scale.x.div
      : scale.mode === "step" ? mark.step : null;
    chart.spans[i].location = at === null || at === undefined ? null : at;
    chart.spans[i].visible = !mark.hidden && at !== null && at !== undefined;
  });
  if (scale.mode === "metric") {
    const ends = lines.filter((line) => !line.hidden).map((line) => lastX(line, scale));
    const moved = String(ends) !== String(chart.xRange.ends);  // a zoom holds until they move
    chart.xRange.ends = ends;
    if (fitted && moved) fitRange(chart.xRange);
  }
  noteCut(chart, lines, scale);
}

// x (step, time or a metric) and the units of both axes, set where they changed: a plot is
// kept when they do (built anew, six plots of 100 runs took ~0.2 s more to redraw).
function setUnits(chart, scale) {
  const units = JSON.stringify([scale.mode, view.x, scale.x.label, scale.y.label]);
  if (chart.units === units) return;
  chart.units = units;
  chart.plot.xaxis.axis_label = xLabel(scale);
  chart.plot.yaxis.axis_label = scale.y.label;
  chart.hover.setv(hoverText(scale, chart.overlay ? "$" : "@"));
  const entry = chart.xRange;
  if (entry.mode === scale.mode && entry.div === scale.x.div) return;
  entry.mode = scale.mode;
  entry.div = scale.x.div;
  entry.ends = null;
  if (fittedEnd(entry) !== null) fitRange(entry);
  else entry.range.have_updated_interactively = false;  // fitted to the new x's lines
}

// While x is fitted, the chart says how many of its runs go on past its right edge, with
// a button that shows every step.
function noteCut(chart, lines, scale) {
  const end = fittedEnd(chart.xRange);
  const past = end === null ? [] : lines.filter((line) => !line.hidden && line.curve.steps.length
    && lastX(line, scale) > end * 1.02);
  chart.note.hidden = !past.length;
  chart.note.dataset.cut = String(past.length);
  if (!past.length) return;
  const names = past.map((line) => String(line.name));
  const who = past.length === 1 ? `${names[0]} goes` : past.length === 2 ? `${names.join(" and ")} go`
    : `${past.length} runs go`;
  chart.note.replaceChildren(`${who} on past this range `,
    el("button", { class: "link", title: `cut off: ${names.join(", ")}`, onclick: () => setFit(false) }, "→ show all"));
}

function lastX(line, scale) {
  const { curve } = line;
  const i = curve.steps.length - 1;
  if (scale.mode === "metric") {
    return (curve.xs || []).reduce((m, v) => (Number.isFinite(num(v)) ? Math.max(m, num(v)) : m), -Infinity);
  }
  return scale.mode === "time" ? (num(curve.times[i]) - line.startedAt) / scale.x.div : curve.steps[i];
}

function updateChart(chart, key, lines, scale, marks) {
  updateFrame(chart, key, lines, scale, marks);
  if (chart.overlay) {
    const shownLines = lines.filter((line) => !line.hidden).map((line) => [line, lineData(line, scale)]);
    const columns = (part) => ({ xs: shownLines.map(([, data]) => data[part].x),
      ys: shownLines.map(([, data]) => data[part].y), color: shownLines.map(([line]) => line.color),
      name: shownLines.map(([line]) => String(line.name)) });
    chart.overlay.shown.data = columns("shown");
    // the faint raw lines only while smoothing: hidden, BokehJS would still index them
    chart.overlay.raw.data = view.smooth > 0 ? columns("raw") : { xs: [], ys: [], color: [], name: [] };
    chart.overlay.faint.visible = view.smooth > 0;
    return;
  }
  lines.forEach((line, i) => {
    const { raw, shown } = lineData(line, scale);
    const names = new Array(shown.x.length).fill(line.name);  // the tooltip's run
    const part = chart.sources[i];
    part.raw.data = { ...raw, name: names };
    part.shown.data = { ...shown, name: names };
    part.faint.visible = view.smooth > 0;
    part.dots.visible = shown.x.length < FEW_POINTS;
  });
}

// lines: [{name, curve, startedAt, color (the run's: common.js colorOf), hidden?}], one line each (plus a faint raw one
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
    // what a plot is built with (x and the units are set on it: setUnits)
    const shape = JSON.stringify([view.log, marks.length, overlay ? "overlay" : lines.map((line) => String(line.name))]);
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
      node.append(chart.note);
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

// The query of a curve request for the chart in `node`: its key, its width, x= when x
// is a metric, and times=0 unless x is the time (each point's time is ~40% of the bytes).
export function curveQuery(key, node) {
  const query = new URLSearchParams({ key, width: String(chartWidth(node)) });
  if (xMetric()) query.set("x", xMetric());
  if (xMode(key) !== "time") query.set("times", "0");
  return query;
}

export async function fetchCurve(runId, key, node) {
  return api(`/api/runs/${encodeURIComponent(runId)}/curve?${curveQuery(key, node)}`);
}

// -- controls -------------------------------------------------------------------------
// One page's controls: {redraw, refetch, shownRuns, fit (its button)}.
let controls = null;

// Fits x to where most runs end (on), or shows every step; kept in the address.
function setFit(on) {
  if (!controls || !controls.fit) return;
  view.fit = on;
  fitX(on ? controls.shownRuns : null);
  controls.fit.setAttribute("aria-pressed", String(on));
  controls.fit.textContent = on ? "show every step" : "fit x to most runs";
  keepInAddress("fit", on ? "" : "0");
  controls.redraw();
}

// The controls of a page's charts. redraw() draws the charts again from the curves held;
// refetch() asks for them again (x became or stopped being a metric); with `shownRuns` (a
// function giving the runs whose lines are shown, each with its step and duration), x is
// fitted to where most of them end, unless the address says fit=0, and a button toggles
// it. xKeys: the metrics offered as x (growing with the step: tokens seen, epoch).
export function chartControls({ redraw, refetch = redraw, shownRuns = null, xKeys = [] }) {
  const x = el("select", { "aria-label": "x axis", onchange: () => {
    view.x = x.value;
    keepInAddress("x", view.x, "auto");
    for (const [node, marks] of markKeys) showMarkKey(node, marks);
    refetch();  // x= or times= of the charts' requests may have changed
  } },
  el("option", { value: "auto" }, "step (time for system/)"), el("option", { value: "step" }, "step"),
  el("option", { value: "time" }, "time"), xKeys.map((key) => el("option", { value: key }, key)));
  if (view.x !== "auto" && view.x !== "step" && view.x !== "time" && !xKeys.includes(view.x)) {
    x.append(el("option", { value: view.x }, view.x));  // from the address: asked for, kept
  }
  x.value = view.x;
  const label = el("span", { class: "note" }, String(view.smooth));
  const smoothing = el("input", { type: "range", min: "0", max: "0.99", step: "0.01",
    value: String(view.smooth), "aria-label": "smoothing",
    oninput: () => { view.smooth = Number(smoothing.value); label.textContent = smoothing.value; redraw(); },
    onchange: () => keepInAddress("smooth", view.smooth, 0) });
  const log = el("input", { type: "checkbox", "aria-label": "log scale",
    onchange: () => { view.log = log.checked; keepInAddress("log", log.checked ? "1" : ""); redraw(); } });
  log.checked = view.log;
  const fit = shownRuns ? el("button", { id: "fit-x", onclick: () => setFit(!view.fit),
    title: `x ends where most runs shown end: a run over ${OUTLIER}× the median length is cut off, and the chart says so` },
  "fit x to most runs") : null;
  controls = { redraw, refetch, shownRuns, fit, x };
  if (fit) {
    fitted = null;
    if (view.fit) fitX(shownRuns);
    fit.setAttribute("aria-pressed", String(view.fit));
    fit.textContent = view.fit ? "show every step" : "fit x to most runs";
  }
  return el("div", { class: "bar" },
    el("label", {}, "x axis", x), el("label", {}, "smoothing", smoothing, label),
    el("label", {}, log, "log scale"), fit);
}

// Offers `keys` (metrics that grow with the step) as x, once they are known.
export function offerXKeys(keys) {
  if (!controls) return;
  const offered = new Set([...controls.x.options].map((option) => option.value));
  for (const key of keys) if (!offered.has(key)) controls.x.append(el("option", { value: key }, key));
}

// An empty chart per key, grouped by section: {parts: sections, nodes: key -> chart}.
// Each chart sits in a box whose head holds its pin and hide buttons (panels.js).
export function chartSections(keys) {
  const nodes = new Map();
  const parts = groupBySection(keys).map(([name, group]) => el("section", { class: "charts", "data-section": name },
    el("h2", {}, name === "other" ? "other" : `${name}/`),
    el("div", { class: "grid" }, group.map((key) => {
      const node = el("div", { class: "chart", "data-key": key });
      nodes.set(key, node);
      return el("div", { class: "chart-box", "data-key": key }, node);
    }))));
  return { parts, nodes };
}

// -- marks ----------------------------------------------------------------------------
// How a mark is drawn, by what it is: alerts solid and thick in their level's colour,
// checkpoints dotted (the best orange, one gone grey), other events dashed grey.
function markStyle(mark) {
  if (mark.kind === "alert") return { dash: "solid", width: 2 };
  if (mark.kind === "artifact" || mark.kind === "checkpoint") return { dash: "dotted", width: 2 };
  return { dash: "dashed", width: 1 };
}

const KEY_ORDER = ["alert", "artifact", "checkpoint", "event"];

// The key to the marks on a page's charts: one entry per kind of mark drawn (its line as
// drawn, and what it means), in `node`; empty when there are none, and a note when x is a
// metric (marks are at steps and times, not drawn then). Shown again when x changes.
const markKeys = new Map();  // node -> marks

export function showMarkKey(node, marks) {
  markKeys.set(node, marks);
  node.classList.add("mark-key", "note");
  if (xMetric() && marks.length) {
    node.replaceChildren(`Marks (events, checkpoints) are drawn against the step or the time, not against ${xMetric()}.`);
    return;
  }
  const entries = new Map();
  for (const mark of marks) {
    const kind = KEY_ORDER.includes(mark.kind) ? mark.kind : "event";
    const words = mark.label || (kind === "event" ? "other event" : mark.kind);
    entries.set(`${words}|${mark.color}`, { kind, words, color: mark.color, ...markStyle(mark) });
  }
  const sorted = [...entries.values()].sort((a, b) =>
    KEY_ORDER.indexOf(a.kind) - KEY_ORDER.indexOf(b.kind) || a.words.localeCompare(b.words));
  node.replaceChildren(...(sorted.length ? ["Marks: ", ...sorted.map((entry) => el("span", { class: "key-item",
    "data-color": entry.color, "data-dash": entry.dash },
  el("span", { class: "key-line", style: `border-top: ${entry.width}px ${entry.dash} ${entry.color}` }), entry.words))] : []));
}

// The events of runs as chart marks: [{kind, label, color, step, at, startedAt, run}]. An
// event with no step (a run's failure) is marked at its run's last step (lastStep(run)).
export function marksOf(events, startedAt, lastStep = () => null) {
  return events.map((e) => ({ kind: e.kind, label: markLabel(e), color: eventColor(e),
    step: e.step ?? lastStep(e.run), at: e.at, startedAt: startedAt(e.run), run: e.run }));
}

function markLabel(event) {
  if (event.kind === "alert") return `${(event.payload || {}).level || "info"} alert`;
  if (event.kind === "checkpoint") return "checkpoint";
  return "other event";
}
