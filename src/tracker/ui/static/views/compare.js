// Runs side by side (/compare?run=..&run=..): charts, config differences, final and
// best metrics, tables.

import { chartControls, chartSections, drawChart, fetchCurve, loadCharts } from "../charts.js";
import { PALETTE, api, cell, el, fmt, runLink, statusBadge, table } from "../common.js";
import { tablesSection } from "./tables.js";

// -- compare page ----------------------------------------------------------------------------
export async function comparePage(app, refs) {
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
