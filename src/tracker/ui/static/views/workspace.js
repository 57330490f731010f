import {
  chartControls, chartSections, chartWidth, drawChart, loadCharts, marksOf, refitX
} from "../charts.js";
import {
  PALETTE, api, el, eventTable, filterInputs, num, numberTile, numbersSection, runLabel,
  statusBadge
} from "../common.js";
import { sweepSection } from "./sweep.js";

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

export async function workspacePage(app, params) {
  const sweep = sweepSection(params);  // groups, parallel coordinates, scatter (views/sweep.js)
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
  const redraw = () => {
    refitX();
    for (const key of curves.keys()) draw(key);
  };
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
    el("div", { class: "bar" }, Object.values(filters), el("a", { href: "/?view=table" }, "runs table")), sweep.node,
    el("div", { class: "workspace" }, side, el("div", { class: "main" },
      chartControls(redraw, () => runs.filter((run) => !hidden.has(run.id))),
      el("div", { id: "charts" }, parts), numbers,
      el("h2", {}, "Events"),
      el("p", { class: "note" }, "Marked on the charts as vertical lines: alerts solid, other events dashed."),
      eventTable(data.events, (id) => runLabel(byId.get(id))))));

  // Charts ask for their data once near the screen; the first in the page go first.
  const pending = [];
  let observed = null;
  const looked = new Promise((resolve) => { observed = resolve; });
  const load = async (key) => {
    const node = nodes.get(key);
    const query = new URLSearchParams([["key", key], ["width", String(chartWidth(node))],
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
  await Promise.all([...pending, sweep.ready]);
}
