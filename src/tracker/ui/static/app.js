// The dashboard's pages: runs, one run, compare. Plain DOM, no framework.
// Every name and value from the store is put on the page as text (textContent,
// createTextNode, setAttribute); nothing from the store is ever parsed as HTML.
"use strict";

const SECTIONS = ["train", "eval", "predict", "system"];
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                 "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const REFRESH_MS = 3000;
const FEW_POINTS = 60;  // curves this short also show their points
const view = { x: "step", smooth: 0, log: false };
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

function curvePoints(curve, startedAt) {
  const x = view.x === "time" ? curve.times.map((t) => num(t) - startedAt) : curve.steps;
  return { x, y: curve.values.map(num) };
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

function lineData(line) {
  const { x, y } = curvePoints(line.curve, line.startedAt);
  const names = new Array(x.length).fill(line.name);
  const raw = { x, y, name: names };
  const shown = { x, y: view.smooth > 0 ? smooth(y, view.smooth) : y, name: names };
  return { raw, shown };
}

function xLabel() {
  return view.x === "time" ? "seconds since start" : "step";
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

function buildChart(node, lines) {
  const { Plotting, ColumnDataSource, HoverTool, Legend, LegendItem } = Bokeh;
  const plot = Plotting.figure({
    height: 270, width: chartWidth(node), y_axis_type: view.log ? "log" : "linear",
    x_axis_label: xLabel(), tools: "pan,wheel_zoom,box_zoom,reset,save",
    toolbar_location: "right", min_border_left: 50, min_border_right: 12,
  });
  plot.toolbar.logo = null;
  plot.title.text_font_size = "13px";
  plot.xaxis.axis_label_text_font_size = "11px";
  plot.xaxis.axis_label_text_font_style = "normal";
  const sources = [], lineRenderers = [], items = [];
  lines.forEach((line, i) => {
    const color = PALETTE[i % PALETTE.length];
    const raw = new ColumnDataSource({ data: { x: [], y: [], name: [] } });
    const shown = new ColumnDataSource({ data: { x: [], y: [], name: [] } });
    const faint = plot.line({ x: { field: "x" }, y: { field: "y" }, source: raw,
      line_color: color, line_width: 1, line_alpha: 0.25 });
    const main = plot.line({ x: { field: "x" }, y: { field: "y" }, source: shown,
      line_color: color, line_width: 1.6 });
    const dots = plot.scatter({ x: { field: "x" }, y: { field: "y" }, source: shown,
      fill_color: color, line_color: color, size: 5 });
    sources.push({ raw, shown, faint, dots });
    lineRenderers.push(main);
    items.push(new LegendItem({ label: { value: String(line.name) }, renderers: [main] }));
  });
  plot.add_tools(new HoverTool({
    renderers: lineRenderers, mode: "vline", formatters: { "@y": "printf", "@x": "printf" },
    tooltips: [["run", "@name"], ["x", "@x{%.6g}"], ["value", "@y{%.6g}"]],
  }));
  if (lines.length > 1) {
    plot.add_layout(new Legend({ items, orientation: "horizontal", click_policy: "hide",
      label_text_font_size: "11px", glyph_width: 16, spacing: 12 }), "below");
  }
  return { plot, sources, view: null };
}

function updateChart(chart, key, lines) {
  chart.plot.title.text = chartTitle(key, lines);
  chart.plot.xaxis.axis_label = xLabel();
  // a flat curve (a constant learning rate) gets a y range around its value, not ±1
  // (a log axis's default span is in decades: it keeps 2)
  const top = Math.max(0, ...lines.flatMap((line) => line.curve.values.map((v) => Math.abs(num(v)))));
  chart.plot.y_range.default_span = !view.log && top > 0 && top < Infinity ? top : 2;
  lines.forEach((line, i) => {
    const { raw, shown } = lineData(line);
    const part = chart.sources[i];
    part.raw.data = raw;
    part.shown.data = shown;
    part.faint.visible = view.smooth > 0;
    part.dots.visible = shown.x.length < FEW_POINTS;
  });
}

// lines: [{name, curve, startedAt}], one line each (plus a faint raw one when smoothing).
// Draws run one after another per node; a draw asked for meanwhile replaces any waiting.
async function drawChart(node, key, lines) {
  await loadCharts();
  node.dataset.series = String(lines.length);
  node.wanted = { key, lines };
  if (node.drawing) return node.drawing;
  node.drawing = drawWanted(node).finally(() => { node.drawing = null; });
  return node.drawing;
}

async function drawWanted(node) {
  await null;  // node.drawing is set before the first draw
  while (node.wanted) {
    const { key, lines } = node.wanted;
    node.wanted = null;
    const shape = JSON.stringify([view.log, lines.map((line) => String(line.name))]);
    if (node.chart && node.chart.shape === shape) {
      updateChart(node.chart, key, lines);
      continue;
    }
    if (node.chart) node.chart.view.remove();
    const chart = buildChart(node, lines);
    chart.shape = shape;
    updateChart(chart, key, lines);
    node.replaceChildren();
    chart.view = await Bokeh.Plotting.show(chart.plot, node);
    node.chart = chart;
    resized.observe(node);
  }
  node.dataset.drawn = "1";
}

function chartPoints(node) {
  return Math.max(200, Math.min(4000, Math.round((node.clientWidth || 600) * 2)));
}

async function fetchCurve(runId, key, node) {
  const query = new URLSearchParams({ key, points: String(chartPoints(node)) });
  return api(`/api/runs/${encodeURIComponent(runId)}/curve?${query}`);
}

function chartControls(redraw) {
  const x = el("select", { "aria-label": "x axis", onchange: () => { view.x = x.value; redraw(); } },
    el("option", { value: "step" }, "step"), el("option", { value: "time" }, "time"));
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
  const filters = {
    project: el("input", { type: "text", placeholder: "project", "aria-label": "project" }),
    name: el("input", { type: "search", placeholder: "name contains", "aria-label": "name" }),
    tag: el("input", { type: "text", placeholder: "tag", "aria-label": "tag" }),
    framework: el("input", { type: "text", placeholder: "framework", "aria-label": "framework" }),
    status: el("select", { "aria-label": "status" }, el("option", { value: "" }, "any status"),
      ["running", "finished", "failed", "interrupted", "crashed"].map((s) => el("option", { value: s }, s))),
  };
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
    el("tr", {}, cell(key), cell(fmt(m.last_value), true), cell(fmt(m.last_step), true),
      cell(fmt(m.min), true), cell(fmt(m.max), true), cell(fmt(m.count), true))));
}

async function runPage(app, runId) {
  let run = await api(`/api/runs/${encodeURIComponent(runId)}`);
  const header = el("div", {});
  const curves = new Map();
  const { parts, nodes } = chartSections(Object.keys(run.metrics));
  const redraw = () => { for (const [key, curve] of curves) drawChart(nodes.get(key), key, [{ name: run.name, curve, startedAt: run.started_at }]); };
  document.title = `${run.name} · tracker`;
  // The charts go on the page first: their widths say how many points to ask for, and the
  // curves are asked for before the rest of the page (the header too: formatting its first
  // date loads the locale's data) is built and BokehJS runs.
  app.replaceChildren(header, chartControls(redraw), el("div", { id: "charts" }, parts));

  async function loadCurves() {
    await Promise.all([...nodes.entries()].map(async ([key, node]) => {
      const curve = await fetchCurve(run.id, key, node);
      curves.set(key, curve);
      await drawChart(node, key, [{ name: run.name, curve, startedAt: run.started_at }]);
    }));
  }
  const loading = loadCurves();
  loadCharts();
  header.replaceChildren(...runHeader(run).filter(Boolean));
  const summary = el("div", {}, metricTable(run.metrics));
  const events = el("div", {});
  const showEvents = () => events.replaceChildren(table(["Time", "Kind", "Step", "Details"], run.events.map((e) =>
    el("tr", {}, cell(fmtTime(e.at)), cell(e.kind), cell(fmt(e.step), true), cell(JSON.stringify(e.payload))))));
  showEvents();
  app.append(
    el("div", { class: "columns" },
      el("div", {}, el("h2", {}, "Config"), searchableTree(run.config, "config")),
      el("div", {}, el("h2", {}, "Summary"), searchableTree(run.summary, "summary"),
        el("h2", {}, "Metrics"), summary)),
    el("h2", {}, "Events"), events,
    el("h2", {}, "Environment"), searchableTree(run.environment, "environment"));
  await loading;
  // Live updates: while the run is running, refresh its numbers and curves.
  const timer = setInterval(async () => {
    if (document.hidden) return;
    try {
      run = await api(`/api/runs/${encodeURIComponent(run.id)}`);
      header.replaceChildren(...runHeader(run).filter(Boolean));
      summary.replaceChildren(metricTable(run.metrics));
      showEvents();
      if (Object.keys(run.metrics).some((key) => !nodes.has(key))) location.reload();
      await loadCurves();
      if (run.status !== "running") clearInterval(timer);
    } catch (error) { /* the next tick tries again */ }
  }, REFRESH_MS);
  if (run.status !== "running") clearInterval(timer);
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
        cell(final === null ? "-" : `${fmt(final)} / ${fmt(row.best[i])}`, true))))));
  const loading = Promise.all(keys.map(async (key) => {
    const node = nodes.get(key);
    const having = runs.filter((run) => run.keys.includes(key));
    const lines = await Promise.all(having.map(async (run) =>
      ({ name: run.name, curve: await fetchCurve(run.id, key, node), startedAt: run.started_at })));
    curves.set(key, lines);
    await drawChart(node, key, lines);
  }));
  loadCharts();
  await loading;
}

// -- routing --------------------------------------------------------------------------------------
function main() {
  const app = document.getElementById("app");
  const path = location.pathname;
  let page;
  if (path.startsWith("/runs/")) page = runPage(app, decodeURIComponent(path.slice("/runs/".length)));
  else if (path === "/compare") page = comparePage(app, new URLSearchParams(location.search).getAll("run"));
  else page = runsPage(app);
  page.then(() => { document.body.dataset.ready = "1"; }, showError);
}

main();  // deferred: the document is parsed
