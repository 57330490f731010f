// One run (/runs/<id>): header, charts (its checkpoints marked), numbers, tables,
// artifacts and lineage, config, summary, events, environment; refreshed while the run is
// running.

import {
  chartControls, chartSections, drawChart, fetchCurve, loadCharts, marksOf, offerXKeys, showMarkKey
} from "../charts.js";
import {
  REFRESH_MS, api, cell, colorOf, el, eventTable, fmt, fmtDuration, fmtTime, fmtUnit, holdsOneValue,
  num, numberTile, numbersSection, statusBadge, table
} from "../common.js";
import { chartPanels } from "../panels.js";
import { artifactsSection } from "./artifacts.js";
import { tablesSection } from "./tables.js";

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

export async function runPage(app, runId) {
  let run = await api(`/api/runs/${encodeURIComponent(runId)}`);
  const header = el("div", {});
  const curves = new Map();
  const numberKeys = Object.keys(run.metrics).filter((key) => holdsOneValue(run.metrics[key]));
  const { parts, nodes } = chartSections(Object.keys(run.metrics).filter((key) => !numberKeys.includes(key)));
  const panels = chartPanels(parts, run.project);
  const markKey = el("div", {});
  const numbers = el("div", {});
  const showNumbers = () => numbers.replaceChildren(...[numbersSection(numberKeys.map((key) =>
    numberTile(key, [num(run.metrics[key].last_value)], [run.name])),
  "Metrics that hold one value (a total, a final figure).")].filter(Boolean));
  const artifacts = artifactsSection(run.id);
  const marks = () => artifacts.marks(marksOf(run.events, () => run.started_at, () => run.step), run.started_at);
  const line = (curve) => [{ name: run.name, curve, startedAt: run.started_at, color: colorOf(run.color) }];
  const redraw = () => { for (const [key, curve] of curves) drawChart(nodes.get(key), key, line(curve), marks()); };
  document.title = `${run.name} · tracker`;
  // The charts go on the page first: their widths say how many points to ask for, and the
  // curves are asked for before the rest of the page (the header too: formatting its first
  // date loads the locale's data) is built and BokehJS runs.
  app.replaceChildren(header, chartControls({ redraw, refetch: () => loadCurves() }), panels.node, markKey,
    el("div", { id: "charts" }, panels.pinned, parts), numbers);

  async function loadCurves() {
    await Promise.all([...nodes.entries()].map(async ([key, node]) => {
      const curve = await fetchCurve(run.id, key, node);
      await artifacts.ready;  // the checkpoints' marks are drawn with the curve
      showMarkKey(markKey, marks());
      curves.set(key, curve);
      await drawChart(node, key, line(curve), marks());
    }));
  }
  const loading = loadCurves();
  loadCharts();
  // the metrics that can be x (tokens seen, epoch), as the run's workspace offers them
  api(`/api/workspace?${new URLSearchParams({ project: run.project, name: run.name })}`)
    .then((found) => offerXKeys(found.x_keys || []), () => {});
  header.replaceChildren(...runHeader(run).filter(Boolean));
  showNumbers();
  const summary = el("div", {}, metricTable(run.metrics));
  const events = el("div", {});
  const showEvents = () => events.replaceChildren(eventTable(run.events));
  showEvents();
  const tables = tablesSection([run]);
  app.append(...tables.nodes, ...artifacts.nodes,
    el("div", { class: "columns" },
      el("div", {}, el("h2", {}, "Config"), searchableTree(run.config, "config")),
      el("div", {}, el("h2", {}, "Summary"), searchableTree(run.summary, "summary"),
        el("h2", {}, "Metrics"), summary)),
    el("h2", {}, "Events"), events,
    el("h2", {}, "Environment"), searchableTree(run.environment, "environment"));
  await Promise.all([loading, tables.ready, artifacts.ready]);
  // Live updates: while the run is running, refresh its numbers and curves.
  const timer = setInterval(async () => {
    if (document.hidden) return;
    try {
      run = await api(`/api/runs/${encodeURIComponent(run.id)}`);
      header.replaceChildren(...runHeader(run).filter(Boolean));
      summary.replaceChildren(metricTable(run.metrics));
      showEvents();
      await artifacts.refresh();
      const moved = (key) => !(nodes.has(key) || (numberKeys.includes(key) && holdsOneValue(run.metrics[key])));
      if (Object.keys(run.metrics).some(moved)) location.reload();  // a new metric, or a number that moved
      showNumbers();
      await loadCurves();
      if (run.status !== "running") clearInterval(timer);
    } catch (error) { /* the next tick tries again */ }
  }, REFRESH_MS);
  if (run.status !== "running") clearInterval(timer);
}
