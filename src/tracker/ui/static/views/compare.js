// Runs side by side (/compare?run=..&run=..): charts, config differences, final and
// best metrics, tables.

import {
  chartControls, chartSections, drawChart, fetchCurve, loadCharts, offerXKeys
} from "../charts.js";
import { api, cell, colorOf, el, fmt, fmtUnit, num, runLink, statusBadge, table } from "../common.js";
import { chartPanels } from "../panels.js";
import { tablesSection } from "./tables.js";

// -- config: the keys that differ; a toggle adds those every run holds alike ------------------------
function configTable(runs, differ, same) {
  const rows = [
    ...differ.map((row) => ({ key: row.key, cells: row.values.map((v) => cell(fmt(v))), same: false })),
    ...same.map((row) => ({ key: row.key, cells: runs.map(() => cell(fmt(row.value))), same: true })),
  ].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((row) =>
    el("tr", { class: row.same ? "same hidden" : "differs", "data-key": row.key }, cell(row.key), row.cells));
  const all = el("input", { type: "checkbox", "aria-label": "show every config key", onchange: () => {
    for (const row of rows) if (row.classList.contains("same")) row.classList.toggle("hidden", !all.checked);
    none.classList.toggle("hidden", all.checked || differ.length > 0);
    grid.classList.toggle("hidden", !all.checked && !differ.length);
  } });
  const none = el("p", { class: differ.length ? "muted hidden" : "muted" }, "The configs are the same.");
  const grid = table(["Key", ...runs.map((run) => run.name)], rows);
  grid.classList.toggle("hidden", !differ.length);
  return el("div", { class: "config-diff" },
    el("div", { class: "bar" }, el("label", {}, all, `show every key (${same.length} the same in every run)`)),
    none, grid);
}

// -- compare page ----------------------------------------------------------------------------
export async function comparePage(app, refs) {
  const query = new URLSearchParams(refs.map((ref) => ["run", ref]));
  const data = await api(`/api/compare?${query}`);
  const runs = data.runs;
  const keys = [...new Set(runs.flatMap((run) => run.keys))].sort();
  const { parts, nodes } = chartSections(keys);
  const panels = chartPanels(parts, runs[0].project);
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
      el("span", { class: "swatch", style: `background:${colorOf(run.color)}` }), names[i], " ", statusBadge(run.status),
      " ", el("span", { class: "note" }, run.framework || "")))),
    chartControls({ redraw, refetch: () => load(), shownRuns: () => runs }),
    panels.node, el("div", { id: "charts" }, panels.pinned, parts),
    el("h2", {}, "Config differences"),
    configTable(runs, data.config, data.config_same || []),
    el("h2", {}, "Final / best metrics"),
    table(["Metric", ...runs.map((run) => run.name)], data.metrics.map((row) =>
      el("tr", {}, cell(row.key), row.final.map((final, i) =>
        cell(final === null ? "-" : `${fmtUnit(row.key, num(final))} / ${fmtUnit(row.key, num(row.best[i]))}`, true))))),
    ...tables.nodes);
  const load = () => Promise.all(keys.map(async (key) => {
    const node = nodes.get(key);
    const having = runs.filter((run) => run.keys.includes(key));
    const lines = await Promise.all(having.map(async (run) => ({ name: run.name,
      curve: await fetchCurve(run.id, key, node), startedAt: run.started_at, color: colorOf(run.color) })));
    curves.set(key, lines);
    await drawChart(node, key, lines);
  }));
  const loading = load();
  loadCharts();
  // the metrics that can be x (tokens seen, epoch), as the workspace of their project offers
  api(`/api/workspace?${new URLSearchParams({ project: runs[0].project })}`)
    .then((found) => offerXKeys(found.x_keys || []), () => {});
  await Promise.all([loading, tables.ready]);
}
