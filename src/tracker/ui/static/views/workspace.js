import {
  chartControls, chartSections, curveQuery, drawChart, loadCharts, marksOf, refitX,
  showMarkKey
} from "../charts.js";
import {
  api, apiPacked, colorOf, el, eventTable, filterInputs, num, numberTile, numbersSection, runLabel,
  statusBadge
} from "../common.js";
import { chartPanels } from "../panels.js";
import { sweepSection } from "./sweep.js";

// -- project workspace ----------------------------------------------------------------------------
// Every run of a project on every metric: one line per run, in the run's colour of the side
// list, where a run is toggled on and off for every chart at once. Charts are grouped by
// section; metrics holding one value are numbers, not charts; a chart asks for its curves
// (one request for all its runs) once it comes near the screen, the first ones first. A
// run's colour is its own (common.js colorOf), whatever the filters list.

export async function workspacePage(app, params) {
  const sweep = sweepSection(params);  // groups, parallel coordinates, scatter (views/sweep.js)
  const data = await api(`/api/workspace?${params}`);
  const runs = data.runs;
  const hidden = new Set();
  const byId = new Map(runs.map((run) => [run.id, { ...run, color: colorOf(run.color) }]));
  const keys = [...new Set(runs.flatMap((run) => run.keys))].sort();
  const having = (key) => runs.filter((run) => run.keys.includes(key));
  const isNumber = (key) => having(key).every((run) => key in run.constants);
  const chartKeys = keys.filter((key) => !isNumber(key));
  const numberKeys = keys.filter(isNumber);
  const { parts, nodes } = chartSections(chartKeys);
  const panels = chartPanels(parts, data.project);
  for (const node of nodes.values()) node.dataset.overlay = "1";  // the side list is the legend
  const curves = new Map();  // key -> {run id: curve}
  const startedAt = (id) => (byId.get(id) || { started_at: 0 }).started_at;
  const linesOf = (key) => having(key).filter((run) => curves.get(key)[run.id]).map((run) => {
    const known = byId.get(run.id);
    return { name: run.name, curve: curves.get(key)[run.id], startedAt: run.started_at,
      color: known.color, get hidden() { return hidden.has(run.id); } };
  });
  const lastStep = (id) => (byId.get(id) || { step: null }).step;
  const marks = marksOf(data.events, startedAt, lastStep).map((mark) =>
    Object.defineProperty(mark, "hidden", { get: () => hidden.has(mark.run) }));
  const draw = (key) => drawChart(nodes.get(key), key, linesOf(key), marks);
  const redraw = () => {
    refitX();
    for (const key of curves.keys()) draw(key);
  };
  const markKey = el("div", {});
  showMarkKey(markKey, marks);
  document.title = `${data.project || "no runs"} · tracker`;

  const filters = filterInputs(params);
  filters.project.value = data.project;
  const reload = () => {  // the view (x, search, fit...) stays as it is
    const query = new URLSearchParams(location.search);
    for (const [name, input] of Object.entries(filters)) {
      if (input.value) query.set(name, input.value); else query.delete(name);
    }
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
      chartControls({ redraw, refetch, xKeys: data.x_keys || [],
        shownRuns: () => runs.filter((run) => !hidden.has(run.id)) }),
      panels.node, markKey, el("div", { id: "charts" }, panels.pinned, parts), numbers,
      el("h2", {}, "Events"),
      el("p", { class: "note" }, "Marked on the charts as vertical lines: alerts solid, other events dashed (see Marks above the charts)."),
      eventTable(data.events, (id) => runLabel(byId.get(id))))));

  // Charts ask for their data once near the screen; the first in the page go first.
  const pending = [];
  let observed = null;
  const looked = new Promise((resolve) => { observed = resolve; });
  // Each chart's answers, by the query that asked for them (its width, x, times): a change
  // of x back to one shown before draws what was fetched, not asked for again, unless one
  // of the chart's runs is running (its newer points are asked for).
  const answers = new Map();  // key -> Map(query -> answer), the last KEPT_ANSWERS
  const KEPT_ANSWERS = 3;
  const asked = (key) => {
    const query = curveQuery(key, nodes.get(key));
    for (const run of having(key)) query.append("run", run.id);
    query.set("format", "binary");  // ~5 MB of JSON a chart of 200 runs: 3 MB of float64s
    return String(query);
  };
  const held = (key) => !having(key).some((run) => run.status === "running")
    && (answers.get(key) || new Map()).get(asked(key));
  const load = async (key) => {
    const query = asked(key);
    const answer = await apiPacked(`/api/curves?${query}`);
    const kept = answers.get(key) || new Map();
    kept.delete(query);
    kept.set(query, answer);
    if (kept.size > KEPT_ANSWERS) kept.delete(kept.keys().next().value);
    answers.set(key, kept);
    if (query === asked(key)) show(key, answer);
    else await load(key);  // x changed meanwhile: kept, and asked again as the chart is now
  };
  const show = (key, answer) => curves.set(key, Object.fromEntries(answer.curves.map((c) => [c.run, c])));
  // two requests at a time, in page order: all at once, the first chart would wait for
  // every one of them (the server shares one interpreter between its requests); a lane's
  // next request is sent as its answer comes, so the server reads the next charts while
  // the browser draws this one
  const lanes = [Promise.resolve(), Promise.resolve()];
  let next = 0;
  const queued = (key) => {
    const answer = held(key);
    if (answer) {
      show(key, answer);
      return draw(key);
    }
    const lane = next++ % lanes.length;
    const fetched = lanes[lane].then(() => load(key));
    lanes[lane] = fetched.catch(() => {});  // shown below, by the chart
    return fetched.then(() => draw(key)).catch((error) =>
      nodes.get(key).replaceChildren(el("p", { class: "error" }, String(error.message || error))));
  };
  // x became or stopped being a metric: the charts drawn ask for their curves again
  function refetch() {
    for (const key of [...curves.keys()]) queued(key);
  }
  // A chart only near the screen (within 300 px below it) is asked for once the charts of
  // the first screen are drawn: asked for at once, it shared the server (and the browser's
  // main thread) with the last chart in view.
  const near = [];
  let firstScreen = false;  // drawn
  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      seen.unobserve(entry.target);
      const key = entry.target.dataset.key;
      if (firstScreen || entry.boundingClientRect.top < window.innerHeight) pending.push(queued(key));
      else near.push(key);
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
  firstScreen = true;
  for (const key of near) pending.push(queued(key));
  await Promise.all([...pending, sweep.ready]);
}
