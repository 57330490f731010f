// The dashboard's pages: runs, one run, compare. Plain DOM, no framework.
// Every name and value from the store is put on the page as text (textContent,
// createTextNode, setAttribute); nothing from the store is ever parsed as HTML.
"use strict";

const SECTIONS = ["train", "eval", "predict", "system"];
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                 "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const REFRESH_MS = 3000;
const FEW_POINTS = 60;  // curves this short also show their points
const view = { x: "auto", smooth: 0, log: false };  // auto: time for system/, else step
// BokehJS is preloaded by the page but run only once a page has asked for its charts' data
// (loadCharts): compiling it takes a few hundred milliseconds of the main thread, which
// would otherwise delay those requests. Scripts added with async = false run in order.
let chartsReady = null;
function loadCharts() {
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

// -- small helpers -------------------------------------------------------------------
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);  // strings become text
  }
  return node;
}

async function api(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// JSON has no NaN: the API names non-finite floats ("NaN", "Infinity", "-Infinity").
const NONFINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

function num(value) {
  return typeof value === "string" && value in NONFINITE ? NONFINITE[value] : value;
}

function fmt(value) {
  if (value === null || value === undefined) return "-";
  if (typeof value === "string") return value;
  if (typeof value !== "number") return JSON.stringify(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  return String(Number(value.toPrecision(4)));
}

// Local time as "2026-11-29 14:03:07": toLocaleString would load the locale's data first,
// tens of milliseconds of the main thread while the page's first chart waits.
function fmtTime(seconds) {
  if (!seconds) return "-";
  const d = new Date(seconds * 1000), two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  if (h) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

// -- units ----------------------------------------------------------------------------------
// A metric's unit, from the naming scheme (docs/naming.md, docs/system-metrics.md): values
// are shown in it, scaled to what people read (GiB, not 17179869184; 5m03s, not 303).
const UNIT_RULES = [
  [/_bytes_per_second$/, "bytes/s"], [/_bytes$/, "bytes"], [/^system\/peak_memory/, "GiB"],
  [/(^|\/|_)(percent|utilization)$/, "%"], [/\/mfu$/, "ratio"],
  [/tokens_per_second$/, "tokens/s"], [/flops_per_second$/, "FLOP/s"],
  [/samples_per_second$/, "samples/s"], [/steps_per_second$/, "steps/s"],
  [/_watts$/, "W"], [/_celsius$/, "°C"], [/_mhz$/, "MHz"],
  [/(runtime|_seconds|duration)$/, "s"],
];
const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const DECIMAL = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];

function unitOf(key) {
  const found = UNIT_RULES.find(([pattern]) => pattern.test(key));
  return found ? found[1] : "";
}

// How values of `unit` whose largest magnitude is `top` are shown: divided by `div`,
// followed by `label`.
function scaleFor(unit, top) {
  const big = Number.isFinite(top) ? Math.abs(top) : 0;
  if (unit === "bytes" || unit === "bytes/s") {
    let i = 0;
    while (i < BINARY.length - 1 && big >= 1024 ** (i + 1)) i++;
    return { div: 1024 ** i, label: BINARY[i] + (unit === "bytes/s" ? "/s" : "") };
  }
  if (unit === "s") {
    if (big >= 2 * 3600) return { div: 3600, label: "h" };
    if (big >= 2 * 60) return { div: 60, label: "min" };
    return { div: 1, label: "s" };
  }
  if (unit === "ratio") return { div: 0.01, label: "%" };
  if (unit.endsWith("/s")) {
    const [div, prefix] = DECIMAL.find(([d]) => big >= d) || [1, ""];
    return { div, label: prefix ? `${prefix} ${unit}` : unit };
  }
  return { div: 1, label: unit };
}

// One value with its unit: "15.6 GiB", "42.1 %", "5m03s", "12.3 k tokens/s".
function fmtUnit(key, value) {
  const unit = unitOf(key);
  if (typeof value !== "number" || !Number.isFinite(value) || !unit) return fmt(value);
  if (unit === "s") return fmtDuration(value);
  const { div, label } = scaleFor(unit, value);
  return `${fmt(Number((value / div).toPrecision(3)))} ${label}`;
}

// -- events ---------------------------------------------------------------------------------
// What an event means, in words: [what, details]. Kinds the tracker records are explained;
// a user's own (log_event) shows its payload as key: value pairs.
const EVENT_WORDS = {
  resumed: "resumed: a new process continued this run (same run id)",
  reopened: "reopened: logged to after finish() (an evaluation after training), same run",
  store_error: "store unreachable for a while: the data was kept and written afterwards",
};

function pairs(payload) {
  return Object.entries(payload || {}).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ");
}

function explainEvent(event) {
  const p = event.payload || {};
  if (event.kind === "alert") return [`${p.level || "info"} alert: ${p.title || ""}`, p.text || ""];
  if (event.kind === "store_error") {
    const lost = p.dropped_points ? `; ${p.dropped_points} points dropped` : "";
    return [EVENT_WORDS.store_error, `${p.uri || ""} from ${fmtTime(p.since)} to ${fmtTime(p.until)} (${p.error || ""})${lost}`];
  }
  return [EVENT_WORDS[event.kind] || event.kind, pairs(p)];
}

function eventColor(event) {
  const level = event.kind === "alert" ? (event.payload || {}).level : null;
  return { error: "#cf222e", warn: "#bf8700", info: "#0969da" }[level] || "#8c959f";
}

function eventTable(events, runName) {
  if (!events.length) return el("p", { class: "muted" }, "No events.");
  return table(["Time", ...(runName ? ["Run"] : []), "What", "Step", "Details"], events.map((e) => {
    const [what, details] = explainEvent(e);
    return el("tr", { class: `event ${e.kind}` }, cell(fmtTime(e.at)), runName ? cell(runName(e.run)) : null,
      el("td", {}, el("span", { class: "mark", style: `background:${eventColor(e)}` }), what),
      cell(fmt(e.step), true), cell(details));
  }));
}

function statusBadge(status) {
  return el("span", { class: `status ${status}` }, status);
}

function runLink(run) {
  return el("a", { href: `/runs/${encodeURIComponent(run.id)}` }, run.name);
}

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

function cell(value, numeric) {
  return el("td", numeric ? { class: "num" } : {}, value);
}

function showError(error) {
  const app = document.getElementById("app");
  app.replaceChildren(el("p", { class: "error" }, String(error.message || error)));
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
// When the box changes width (the window is resized), the plot follows.
function chartWidth(node) {
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
  return { plot, spans };
}

// A chart of a few lines: a line renderer each (and a legend whose names hide them).
function buildChart(node, lines, scale, marks) {
  const { ColumnDataSource, HoverTool, Legend, LegendItem } = Bokeh;
  const { plot, spans } = newPlot(node, scale, marks);
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
    renderers: lineRenderers, mode: "vline", formatters: { "@y": "printf", "@x": "printf" },
    tooltips: [["run", "@name"], ["x", "@x{%.6g}"], ["value", `@y{%.6g}${unit}`]],
  }));
  if (lines.length > 1) {
    plot.add_layout(new Legend({ items, orientation: "horizontal", click_policy: "hide",
      label_text_font_size: "11px", glyph_width: 16, spacing: 12 }), "below");
  }
  return { plot, sources, spans, view: null };
}

// A chart of many lines (the workspace): one multi-line renderer for all of them, each in
// its colour, so that 50 runs cost BokehJS one renderer, not 150; a line toggled off is
// left out of the data. The side list is its legend.
function buildOverlay(node, lines, scale, marks) {
  const { ColumnDataSource, HoverTool } = Bokeh;
  const { plot, spans } = newPlot(node, scale, marks);
  const empty = () => new ColumnDataSource({ data: { xs: [], ys: [], color: [], name: [] } });
  const raw = empty(), shown = empty();
  const style = { xs: { field: "xs" }, ys: { field: "ys" }, line_color: { field: "color" } };
  const faint = plot.multi_line({ ...style, source: raw, line_width: 1, line_alpha: 0.25 });
  const main = plot.multi_line({ ...style, source: shown, line_width: 1.6 });
  const unit = scale.y.label ? ` ${scale.y.label}` : "";
  plot.add_tools(new HoverTool({
    renderers: [main], formatters: { "$x": "printf", "$y": "printf" },
    tooltips: [["run", "@name"], ["x", "$x{%.6g}"], ["value", `$y{%.6g}${unit}`]],
  }));
  return { plot, spans, overlay: { raw, shown, faint }, view: null };
}

// What every chart shows beside its lines: title, axis label, y range, event marks.
function updateFrame(chart, key, lines, scale, marks) {
  chart.plot.title.text = chartTitle(key, lines);
  chart.plot.xaxis.axis_label = xLabel(scale);
  // a flat curve (a constant learning rate) gets a y range around its value, not ±1
  // (a log axis's default span is in decades: it keeps 2)
  const top = Math.max(0, ...lines.flatMap((line) => line.curve.values.map((v) => Math.abs(num(v)))));
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
async function drawChart(node, key, lines, marks = []) {
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
      if (node.chart) node.chart.view.remove();
      const chart = (overlay ? buildOverlay : buildChart)(node, lines, scale, marks);
      chart.shape = shape;
      updateChart(chart, key, lines, scale, marks);
      node.replaceChildren();
      chart.view = await Bokeh.Plotting.show(chart.plot, node);
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

function chartPoints(node) {
  return Math.max(200, Math.min(4000, Math.round((node.clientWidth || 600) * 2)));
}

async function fetchCurve(runId, key, node) {
  const query = new URLSearchParams({ key, points: String(chartPoints(node)) });
  return api(`/api/runs/${encodeURIComponent(runId)}/curve?${query}`);
}

function chartControls(redraw) {
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
  return el("div", { class: "bar" },
    el("label", {}, "x axis", x), el("label", {}, "smoothing", smoothing, label),
    el("label", {}, log, "log scale"));
}

// An empty chart per key, grouped by section: {parts: sections, nodes: key -> chart}.
function chartSections(keys) {
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

// -- config tree with search -------------------------------------------------------------
function tree(value, path) {
  return el("ul", {}, Object.entries(value).map(([key, child]) => {
    const full = path ? `${path}.${key}` : key;
    if (child && typeof child === "object" && !Array.isArray(child) && Object.keys(child).length) {
      return el("li", {}, el("details", { open: "" }, el("summary", { class: "k" }, key), tree(child, full)));
    }
    const text = fmt(child);
    const leaf = el("li", { class: "leaf" }, el("span", { class: "k" }, key), ": ", el("span", { class: "v" }, text));
    leaf.dataset.search = `${full} ${text}`.toLowerCase();
    return leaf;
  }));
}

function searchableTree(value, label) {
  const root = el("div", { class: "tree" }, tree(value, ""));
  const search = el("input", { type: "search", placeholder: `search ${label}`, "aria-label": `search ${label}`,
    oninput: () => filterTree(root, search.value.trim().toLowerCase()) });
  return el("div", {}, el("div", { class: "bar" }, search), root);
}

function filterTree(root, query) {
  for (const leaf of root.querySelectorAll("li.leaf")) {
    leaf.classList.toggle("hidden", Boolean(query) && !leaf.dataset.search.includes(query));
  }
  for (const branch of [...root.querySelectorAll("li:not(.leaf)")].reverse()) {
    const visible = branch.querySelector("li.leaf:not(.hidden)");
    branch.classList.toggle("hidden", !visible);
    if (query && visible) branch.querySelector("details").open = true;
  }
}

// -- runs page -----------------------------------------------------------------------------
async function runsPage(app) {
  const selected = new Set();
  const filters = filterInputs(new URLSearchParams());
  const compare = el("button", { id: "compare", disabled: "", onclick: () => {
    const query = new URLSearchParams([...selected].map((id) => ["run", id]));
    location.href = `/compare?${query}`;
  } }, "Compare selected");
  const body = el("div", {});
  const count = el("span", { class: "note" });
  app.replaceChildren(el("h1", {}, "Runs"),
    el("div", { class: "bar" }, Object.values(filters), compare, count), body);

  async function load() {
    const query = new URLSearchParams();
    for (const [name, input] of Object.entries(filters)) if (input.value) query.set(name, input.value);
    const { runs } = await api(`/api/runs?${query}`);
    count.textContent = `${runs.length} runs`;
    body.replaceChildren(table(
      ["", "Name", "Project", "Framework", "Status", "Started", "Duration", "Step", "Train loss", "Eval loss"],
      runs.map((run) => {
        const box = el("input", { type: "checkbox", "aria-label": "select", onchange: () => {
          if (box.checked) selected.add(run.id); else selected.delete(run.id);
          compare.disabled = selected.size < 2;
        } });
        box.checked = selected.has(run.id);
        return el("tr", { "data-run": run.id }, el("td", {}, box), el("td", {}, runLink(run)),
          cell(run.project), cell(run.framework || "-"), el("td", {}, statusBadge(run.status)),
          cell(fmtTime(run.started_at)), cell(fmtDuration(run.duration)), cell(fmt(run.step), true),
          cell(fmt(run.train_loss), true), cell(fmt(run.eval_loss), true));
      })));
  }
  let timer = null;
  for (const input of Object.values(filters)) {
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load().catch(showError), 250); });
  }
  setInterval(() => { if (!document.hidden) load().catch(() => {}); }, REFRESH_MS * 2);
  await load();
}

// -- run page ------------------------------------------------------------------------------
function runHeader(run) {
  const tags = run.tags.length ? run.tags.join(", ") : "-";
  return [
    el("h1", {}, run.name, " ", statusBadge(run.status)),
    el("div", { class: "meta" },
      el("span", {}, "id ", el("b", {}, run.id)), el("span", {}, "project ", el("b", {}, run.project)),
      el("span", {}, "framework ", el("b", {}, run.framework || "-")), el("span", {}, "tags ", el("b", {}, tags)),
      el("span", {}, "started ", el("b", {}, fmtTime(run.started_at))),
      el("span", {}, "duration ", el("b", {}, fmtDuration(run.duration))),
      el("span", {}, "step ", el("b", {}, fmt(run.step)))),
    run.error ? el("p", { class: "error" }, run.error) : null,
  ];
}

function metricTable(metrics) {
  return table(["Metric", "Last", "Step", "Min", "Max", "Points"], Object.entries(metrics).map(([key, m]) =>
    el("tr", {}, cell(key), cell(fmtUnit(key, num(m.last_value)), true), cell(fmt(m.last_step), true),
      cell(fmtUnit(key, num(m.min)), true), cell(fmtUnit(key, num(m.max)), true), cell(fmt(m.count), true))));
}

// The events of runs as chart marks: [{kind, color, step, at, startedAt, run}].
function marksOf(events, startedAt) {
  return events.map((e) => ({ kind: e.kind, color: eventColor(e), step: e.step, at: e.at,
    startedAt: startedAt(e.run), run: e.run }));
}

async function runPage(app, runId) {
  let run = await api(`/api/runs/${encodeURIComponent(runId)}`);
  const header = el("div", {});
  const curves = new Map();
  const numberKeys = Object.keys(run.metrics).filter((key) => holdsOneValue(run.metrics[key]));
  const { parts, nodes } = chartSections(Object.keys(run.metrics).filter((key) => !numberKeys.includes(key)));
  const numbers = el("div", {});
  const showNumbers = () => numbers.replaceChildren(...[numbersSection(numberKeys.map((key) =>
    numberTile(key, [num(run.metrics[key].last_value)], [run.name])),
  "Metrics that hold one value (a total, a final figure).")].filter(Boolean));
  const marks = () => marksOf(run.events, () => run.started_at);
  const line = (curve) => [{ name: run.name, curve, startedAt: run.started_at }];
  const redraw = () => { for (const [key, curve] of curves) drawChart(nodes.get(key), key, line(curve), marks()); };
  document.title = `${run.name} · tracker`;
  // The charts go on the page first: their widths say how many points to ask for, and the
  // curves are asked for before the rest of the page (the header too: formatting its first
  // date loads the locale's data) is built and BokehJS runs.
  app.replaceChildren(header, chartControls(redraw), el("div", { id: "charts" }, parts), numbers);

  async function loadCurves() {
    await Promise.all([...nodes.entries()].map(async ([key, node]) => {
      const curve = await fetchCurve(run.id, key, node);
      curves.set(key, curve);
      await drawChart(node, key, line(curve), marks());
    }));
  }
  const loading = loadCurves();
  loadCharts();
  header.replaceChildren(...runHeader(run).filter(Boolean));
  showNumbers();
  const summary = el("div", {}, metricTable(run.metrics));
  const events = el("div", {});
  const showEvents = () => events.replaceChildren(eventTable(run.events));
  showEvents();
  const tables = tablesSection([run]);
  app.append(...tables.nodes,
    el("div", { class: "columns" },
      el("div", {}, el("h2", {}, "Config"), searchableTree(run.config, "config")),
      el("div", {}, el("h2", {}, "Summary"), searchableTree(run.summary, "summary"),
        el("h2", {}, "Metrics"), summary)),
    el("h2", {}, "Events"), events,
    el("h2", {}, "Environment"), searchableTree(run.environment, "environment"));
  await Promise.all([loading, tables.ready]);
  // Live updates: while the run is running, refresh its numbers and curves.
  const timer = setInterval(async () => {
    if (document.hidden) return;
    try {
      run = await api(`/api/runs/${encodeURIComponent(run.id)}`);
      header.replaceChildren(...runHeader(run).filter(Boolean));
      summary.replaceChildren(metricTable(run.metrics));
      showEvents();
      const moved = (key) => !(nodes.has(key) || (numberKeys.includes(key) && holdsOneValue(run.metrics[key])));
      if (Object.keys(run.metrics).some(moved)) location.reload();  // a new metric, or a number that moved
      showNumbers();
      await loadCurves();
      if (run.status !== "running") clearInterval(timer);
    } catch (error) { /* the next tick tries again */ }
  }, REFRESH_MS);
  if (run.status !== "running") clearInterval(timer);
}

// -- tables -----------------------------------------------------------------------------------
// What the model wrote: one step's rows of a table at a time, asked for when the step is
// picked (the server reads that step only). runs: [{id, name, tables: {key: steps}}]. With
// one run a second step can be shown beside the first; with several runs (compare), each
// run's rows at the picked step are side by side. Search and sort act on the rows shown.
const FOLD = 400;  // characters of a text shown before "… N more characters"

function cellText(value) {
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return value;  // "NaN", "Infinity": named by the API
  return String(value);
}

// Sort order of one column: numbers (NaN last) before texts, None at the end.
function compareCells(a, b) {
  const rank = (v) => (v === null || v === undefined ? 2 : typeof num(v) === "number" ? 0 : 1);
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) {
    const x = num(a), y = num(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) - Number.isNaN(y);
    return x - y;
  }
  const x = String(a), y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function tableCell(value) {
  const text = cellText(value);
  const numeric = typeof num(value) === "number";
  if (text.length <= FOLD) return el("td", numeric ? { class: "num" } : {}, text);
  const shown = el("span", {}, text.slice(0, FOLD));
  const more = el("button", { class: "more", onclick: () => { shown.textContent = text; more.remove(); } },
    `… ${text.length - FOLD} more characters`);
  return el("td", { class: "folded" }, shown, more);
}

function tableViewer(runs) {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.tables)))].sort();
  const state = { query: "", sort: null };  // sort: {column, down}
  const picker = el("select", { "aria-label": "table" }, keys.map((key) => el("option", { value: key }, key)));
  const slider = el("input", { type: "range", min: "0", value: "0", "aria-label": "step" });
  const prev = el("button", { "aria-label": "previous step", title: "previous step" }, "◀");
  const next = el("button", { "aria-label": "next step", title: "next step" }, "▶");
  const label = el("span", { class: "note" });
  const second = runs.length === 1 ? el("select", { "aria-label": "second step" }) : null;
  const search = el("input", { type: "search", placeholder: "search rows", "aria-label": "search rows" });
  const panes = el("div", { class: "panes" });
  const node = el("section", { class: "tables", "data-loading": "0" },
    el("div", { class: "bar" }, picker, prev, slider, next, label,
      second ? el("label", {}, "beside step", second) : null, search), panes);
  let shown = [];  // [{title, answer}] of the panes drawn
  let asked = 0;  // a late answer for a step no longer picked is dropped

  const steps = () => [...new Set(runs.flatMap((run) => run.tables[picker.value] || []))].sort((a, b) => a - b);
  const rowsOf = (run, step) => api(`/api/runs/${encodeURIComponent(run.id)}/table?` +
    new URLSearchParams({ key: picker.value, step: String(step) }));

  function drawPanes() {
    const query = state.query.toLowerCase();
    panes.replaceChildren(...shown.map(({ title, answer }) => {
      let rows = answer.rows;
      if (query) rows = rows.filter((row) => answer.columns.some((c) => cellText(row[c]).toLowerCase().includes(query)));
      if (state.sort) {
        const { column, down } = state.sort;
        rows = [...rows].sort((a, b) => (down ? -1 : 1) * compareCells(a[column], b[column]));
      }
      const count = !answer.rows.length ? "no rows at this step"
        : rows.length === answer.rows.length ? `${rows.length} rows` : `${rows.length} of ${answer.rows.length} rows`;
      const heads = answer.columns.map((column) => {
        const sorted = state.sort && state.sort.column === column;
        return el("th", { "aria-sort": sorted ? (state.sort.down ? "descending" : "ascending") : "none" },
          el("button", { class: "sort", onclick: () => {
            state.sort = { column, down: sorted && !state.sort.down };
            drawPanes();
          } }, column, sorted ? (state.sort.down ? " ▼" : " ▲") : ""));
      });
      return el("div", { class: "pane", "data-run": answer.run, "data-step": String(answer.step) },
        el("h3", {}, title),
        el("p", { class: "note" }, count + (answer.more ? " (the step's first rows only)" : "")),
        el("table", {}, el("thead", {}, el("tr", {}, heads)),
          el("tbody", {}, rows.map((row) => el("tr", {}, answer.columns.map((c) => tableCell(row[c])))))));
    }));
  }

  async function show() {
    const all = steps();
    const index = Math.min(Number(slider.value), all.length - 1);
    const step = all[index];
    label.textContent = `step ${step} (${index + 1} of ${all.length})`;
    prev.disabled = index <= 0;
    next.disabled = index >= all.length - 1;
    const wanted = runs.length > 1
      ? runs.map((run) => ({ run, step, title: run.name }))
      : [{ run: runs[0], step, title: `step ${step}` },
         ...(second.value === "" ? [] : [{ run: runs[0], step: Number(second.value), title: `step ${second.value}` }])];
    const mine = ++asked;
    node.dataset.loading = "1";
    const answers = await Promise.all(wanted.map(async ({ run, step: at, title }) =>
      ((run.tables[picker.value] || []).includes(at)
        ? { title, answer: await rowsOf(run, at) }
        : { title, answer: { run: run.id, step: at, columns: [], rows: [], more: false } })));
    if (mine !== asked) return;
    shown = answers;
    drawPanes();
    node.dataset.loading = "0";
  }

  function pickTable() {
    const all = steps();
    slider.max = String(all.length - 1);
    slider.value = String(all.length - 1);  // the last step first
    if (second) second.replaceChildren(el("option", { value: "" }, "none"), ...all.map((s) => el("option", { value: String(s) }, String(s))));
    state.sort = null;
    return show();
  }
  const move = (by) => { slider.value = String(Number(slider.value) + by); return show(); };
  picker.addEventListener("change", pickTable);
  slider.addEventListener("input", show);
  prev.addEventListener("click", () => move(-1));
  next.addEventListener("click", () => move(1));
  if (second) second.addEventListener("change", show);
  search.addEventListener("input", () => { state.query = search.value; drawPanes(); });
  return { node, ready: pickTable() };
}

function tablesSection(runs) {
  if (!runs.some((run) => Object.keys(run.tables).length)) return { nodes: [], ready: Promise.resolve() };
  const viewer = tableViewer(runs);
  return { nodes: [el("h2", {}, "Tables"), viewer.node], ready: viewer.ready };
}

// -- project workspace ----------------------------------------------------------------------------
// Every run of a project on every metric: one line per run, in the run's colour of the side
// list, where a run is toggled on and off for every chart at once. Charts are grouped by
// section; metrics holding one value are numbers, not charts; a chart asks for its curves
// (one request for all its runs) once it comes near the screen, the first ones first.
function colorOf(i) {
  if (i < PALETTE.length) return PALETTE[i];
  const h = (i * 137.508) % 360, s = 0.65, l = 0.42;  // golden-angle hues past the palette
  const f = (n) => {
    const k = (n + h / 30) % 12, a = s * Math.min(l, 1 - l);
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)))).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

function curvePointsFor(node, lines) {
  const width = node.clientWidth || 600;
  return lines > 5 ? Math.max(100, Math.min(1000, Math.round(width / 2))) : chartPoints(node);
}

async function workspacePage(app, params) {
  const data = await api(`/api/workspace?${params}`);
  const runs = data.runs;
  const hidden = new Set();
  const byId = new Map(runs.map((run, i) => [run.id, { ...run, color: colorOf(i) }]));
  const keys = [...new Set(runs.flatMap((run) => run.keys))].sort();
  const having = (key) => runs.filter((run) => run.keys.includes(key));
  const isNumber = (key) => having(key).every((run) => key in run.constants);
  const chartKeys = keys.filter((key) => !isNumber(key));
  const numberKeys = keys.filter(isNumber);
  const { parts, nodes } = chartSections(chartKeys);
  for (const node of nodes.values()) node.dataset.overlay = "1";  // the side list is the legend
  const curves = new Map();  // key -> {run id: curve}
  const startedAt = (id) => (byId.get(id) || { started_at: 0 }).started_at;
  const linesOf = (key) => having(key).filter((run) => curves.get(key)[run.id]).map((run) => {
    const known = byId.get(run.id);
    return { name: run.name, curve: curves.get(key)[run.id], startedAt: run.started_at,
      color: known.color, get hidden() { return hidden.has(run.id); } };
  });
  const marks = marksOf(data.events, startedAt).map((mark) =>
    Object.defineProperty(mark, "hidden", { get: () => hidden.has(mark.run) }));
  const draw = (key) => drawChart(nodes.get(key), key, linesOf(key), marks);
  const redraw = () => { for (const key of curves.keys()) draw(key); };
  document.title = `${data.project || "no runs"} · tracker`;

  const filters = filterInputs(params);
  filters.project.value = data.project;
  const reload = () => {
    const query = new URLSearchParams();
    for (const [name, input] of Object.entries(filters)) if (input.value) query.set(name, input.value);
    location.search = query.toString();
  };
  for (const input of Object.values(filters)) input.addEventListener("change", reload);

  const toggles = runs.map((run) => {
    const known = byId.get(run.id);
    const box = el("input", { type: "checkbox", "aria-label": `show ${run.name}`, onchange: () => {
      if (box.checked) hidden.delete(run.id); else hidden.add(run.id);
      redraw();
    } });
    box.checked = !hidden.has(run.id);
    return el("li", { "data-run": run.id },
      el("label", {}, box, el("span", { class: "swatch", style: `background:${known.color}` }), run.name),
      " ", statusBadge(run.status), " ", el("a", { href: `/runs/${encodeURIComponent(run.id)}`, class: "note" }, "open"));
  });
  const setAll = (on) => {
    for (const item of toggles) {
      const box = item.querySelector("input");
      box.checked = on;
      if (on) hidden.delete(item.dataset.run); else hidden.add(item.dataset.run);
    }
    redraw();
  };
  const side = el("aside", { class: "side" },
    el("div", { class: "bar" }, el("b", {}, `${runs.length} runs`),
      el("button", { onclick: () => setAll(true) }, "all"), el("button", { onclick: () => setAll(false) }, "none")),
    el("ul", { class: "run-list" }, toggles));

  const numbers = numbersSection(numberKeys.map((key) => numberTile(key,
    having(key).map((run) => num(run.constants[key])), having(key).map((run) => runLabel(byId.get(run.id))))),
  "Metrics that hold one value in every run (a total, a final figure).");
  app.replaceChildren(
    el("h1", {}, data.project ? `Project ${data.project}` : "No runs yet"),
    el("div", { class: "bar" }, Object.values(filters), el("a", { href: "/?view=table" }, "runs table")),
    el("div", { class: "workspace" }, side, el("div", { class: "main" },
      chartControls(redraw), el("div", { id: "charts" }, parts), numbers,
      el("h2", {}, "Events"),
      el("p", { class: "note" }, "Marked on the charts as vertical lines: alerts solid, other events dashed."),
      eventTable(data.events, (id) => runLabel(byId.get(id))))));

  // Charts ask for their data once near the screen; the first in the page go first.
  const pending = [];
  let observed = null;
  const looked = new Promise((resolve) => { observed = resolve; });
  const load = async (key) => {
    const node = nodes.get(key);
    const query = new URLSearchParams([["key", key], ["points", String(curvePointsFor(node, having(key).length))],
      ...having(key).map((run) => ["run", run.id])]);
    const answer = await api(`/api/curves?${query}`);
    curves.set(key, Object.fromEntries(answer.curves.map((c) => [c.run, c])));
    await draw(key);
  };
  // two at a time, in page order: all at once, the first chart would wait for every one
  // of them (the server shares one interpreter between its requests)
  const lanes = [Promise.resolve(), Promise.resolve()];
  let next = 0;
  const queued = (key) => {
    const lane = next++ % lanes.length;
    lanes[lane] = lanes[lane].then(() => load(key)).catch((error) =>
      nodes.get(key).replaceChildren(el("p", { class: "error" }, String(error.message || error))));
    return lanes[lane];
  };
  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      seen.unobserve(entry.target);
      pending.push(queued(entry.target.dataset.key));
    }
    observed();
  }, { rootMargin: "300px" });
  // the first two charts are at the top of the page: asked for at once, not a frame later
  const order = [...nodes.keys()];  // as on the page: train/ first
  for (const key of order.slice(0, 2)) pending.push(queued(key));
  for (const key of order.slice(2)) seen.observe(nodes.get(key));
  loadCharts();
  if (nodes.size > 2) await looked;  // the observer's first call says which charts are in view
  await Promise.all(pending);
}

function runLabel(run) {
  if (!run) return "-";
  return el("span", {}, el("span", { class: "swatch", style: `background:${run.color}` }), run.name);
}

// A metric that holds one value (in each run): a number, not a flat chart. values: one per
// run, labels: what names each run (a node or text).
function numberTile(key, values, labels) {
  const same = values.every((v) => Object.is(v, values[0]));
  return el("div", { class: "tile", "data-key": key },
    el("div", { class: "note" }, key),
    same
      ? el("div", { class: "value" }, fmtUnit(key, values[0]),
          values.length > 1 ? el("span", { class: "note" }, ` (all ${values.length} runs)`) : null)
      : el("ul", {}, values.map((value, i) => el("li", {}, labels[i], " ", fmtUnit(key, value)))));
}

function numbersSection(tiles, note) {
  return tiles.length ? el("section", { class: "numbers" }, el("h2", {}, "Numbers"),
    el("p", { class: "note" }, note), el("div", { class: "tiles" }, tiles)) : null;
}

function holdsOneValue(stats) {
  return stats.count === 1 || Object.is(num(stats.min), num(stats.max));
}

function filterInputs(params) {
  const inputs = {
    project: el("input", { type: "text", placeholder: "project", "aria-label": "project" }),
    name: el("input", { type: "search", placeholder: "name contains", "aria-label": "name" }),
    tag: el("input", { type: "text", placeholder: "tag", "aria-label": "tag" }),
    framework: el("input", { type: "text", placeholder: "framework", "aria-label": "framework" }),
    status: el("select", { "aria-label": "status" }, el("option", { value: "" }, "any status"),
      ["running", "finished", "failed", "interrupted", "crashed"].map((s) => el("option", { value: s }, s))),
  };
  for (const [name, input] of Object.entries(inputs)) input.value = params.get(name) || "";
  return inputs;
}

// -- compare page ----------------------------------------------------------------------------
async function comparePage(app, refs) {
  const query = new URLSearchParams(refs.map((ref) => ["run", ref]));
  const data = await api(`/api/compare?${query}`);
  const runs = data.runs;
  const keys = [...new Set(runs.flatMap((run) => run.keys))].sort();
  const { parts, nodes } = chartSections(keys);
  const curves = new Map();  // key -> [{name, curve, startedAt}]
  const redraw = () => { for (const [key, lines] of curves) drawChart(nodes.get(key), key, lines); };
  const names = runs.map((run) => runLink(run));
  const listed = await Promise.all(runs.map((run) => api(`/api/runs/${encodeURIComponent(run.id)}/tables`)));
  const tables = tablesSection(runs.map((run, i) =>
    ({ ...run, tables: Object.fromEntries(listed[i].tables.map((t) => [t.key, t.steps])) })));
  document.title = `compare ${runs.length} runs · tracker`;
  app.replaceChildren(
    el("h1", {}, `Compare ${runs.length} runs`),
    el("div", { class: "meta" }, runs.map((run, i) => el("span", {},
      el("b", { style: `color:${PALETTE[i % PALETTE.length]}` }, "■ "), names[i], " ", statusBadge(run.status),
      " ", el("span", { class: "note" }, run.framework || "")))),
    chartControls(redraw), el("div", { id: "charts" }, parts),
    el("h2", {}, "Config differences"),
    data.config.length
      ? table(["Key", ...runs.map((run) => run.name)], data.config.map((row) =>
          el("tr", {}, cell(row.key), row.values.map((v) => cell(fmt(v))))))
      : el("p", { class: "muted" }, "The configs are the same."),
    el("h2", {}, "Final / best metrics"),
    table(["Metric", ...runs.map((run) => run.name)], data.metrics.map((row) =>
      el("tr", {}, cell(row.key), row.final.map((final, i) =>
        cell(final === null ? "-" : `${fmt(final)} / ${fmt(row.best[i])}`, true))))),
    ...tables.nodes);
  const loading = Promise.all(keys.map(async (key) => {
    const node = nodes.get(key);
    const having = runs.filter((run) => run.keys.includes(key));
    const lines = await Promise.all(having.map(async (run) =>
      ({ name: run.name, curve: await fetchCurve(run.id, key, node), startedAt: run.started_at })));
    curves.set(key, lines);
    await drawChart(node, key, lines);
  }));
  loadCharts();
  await Promise.all([loading, tables.ready]);
}

// -- routing --------------------------------------------------------------------------------------
function main() {
  const app = document.getElementById("app");
  const path = location.pathname;
  let page;
  if (path.startsWith("/runs/")) page = runPage(app, decodeURIComponent(path.slice("/runs/".length)));
  else if (path === "/compare") page = comparePage(app, new URLSearchParams(location.search).getAll("run"));
  else if (new URLSearchParams(location.search).get("view") === "table") page = runsPage(app);
  else page = workspacePage(app, new URLSearchParams(location.search));
  page.then(() => { document.body.dataset.ready = "1"; }, showError);
}

main();  // deferred: the document is parsed
