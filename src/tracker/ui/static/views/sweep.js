// The sweep panel of the workspace (views/workspace.js puts it above the charts): the
// runs of the workspace as one sweep, from /api/params. Three drawings share its controls:
//
//   parallel.js   parallel coordinates: every varying config key, then the metric's final value
//   groups.js     the runs grouped by a config key: each group's mean and min-max band
//   scatter.js    one config key against the metric's final value, a point per run
//
// *group by* (a config key, or none), *metric* and *x* (the scatter's key) are kept in the
// page's address (group=, metric=, param=), so a link or a reload shows the same. The
// panel opens folded (almost any runs differ in some key, an output folder, say: the
// charts keep the first screen) unless the address names one of them; opened, it draws.

import { PALETTE, api, colorOf, el } from "../common.js";
import { drawGroups } from "./groups.js";
import { drawParallel } from "./parallel.js";
import { drawScatter } from "./scatter.js";

// The query parameters that select the workspace's runs, passed on to /api/params and
// /api/groups so that they see the runs the workspace lists.
const FILTERS = ["project", "status", "tag", "framework", "name", "sweep", "limit"];
const UNSET = "#8c959f";

// The scatter's key unless one is asked for: the number key the most runs set (an
// unrelated run's key, set in one run, makes a poor axis), else the first key.
function defaultParam(params) {
  const numbers = params.filter((p) => p.kind === "number").sort((a, b) => a.unset - b.unset);
  return (numbers[0] || params[0]).key;
}

// {node, ready}: the section, filled once ready resolves (hidden when the runs are no
// sweep: fewer than two, no metric, or every config alike).
export function sweepSection(params) {
  const node = el("section", { class: "sweep" });
  const ready = build(node, params).catch((error) =>
    node.replaceChildren(el("h2", {}, "Sweep"), el("p", { class: "error" }, String(error.message || error))));
  return { node, ready };
}

async function build(node, params) {
  const filters = new URLSearchParams();
  for (const name of FILTERS) for (const value of params.getAll(name)) if (value) filters.append(name, value);
  const data = await api(`/api/params?${filters}`);
  // asked for while the page was built: wait for the section to be placed (not forever,
  // if the page failed meanwhile)
  for (let tries = 0; !node.isConnected; tries++) {
    if (tries > 1000) return;
    await new Promise((resolve) => setTimeout(resolve, 10));  // not a frame: none is drawn while BokehJS compiles
  }
  if (data.runs.length < 2 || !data.metrics.length || !data.params.length) {
    node.hidden = true;
    return;
  }
  const heading = el("summary", {}, el("h2", {}, `Sweep: ${data.runs.length} runs, ${data.params.length} config keys differ`));
  const keys = data.params.map((p) => p.key);
  const chosen = (name, allowed, fallback) => (allowed.includes(params.get(name)) ? params.get(name) : fallback);
  const state = {
    group: chosen("group", keys, ""),
    metric: chosen("metric", data.metrics, data.metric),
    param: chosen("param", keys, defaultParam(data.params)),
  };
  // a group's colour: by the place of its value among the key's values, as the server orders them
  const groupColor = (value) => {
    const values = data.params.find((p) => p.key === state.group).values;
    const i = values.indexOf(value);
    return i < 0 ? UNSET : PALETTE[i % PALETTE.length];
  };
  const runColor = (run) => (state.group ? groupColor(run.params[state.group]) : colorOf(run.color));

  const parallel = el("div", { class: "panel parallel" });
  const groups = el("div", { class: "panel group-chart" });
  const groupNote = el("span", { class: "note" }, "Pick a key under group by for each group's mean line and a band from its lowest to its highest run.");
  const scatter = el("div", { class: "panel scatter" });
  const keep = (open) => {
    const kept = new URLSearchParams(location.search);
    for (const [name, value] of [["group", state.group], ["metric", state.metric], ["param", state.param]]) {
      if (value && open) kept.set(name, value); else kept.delete(name);
    }
    history.replaceState(null, "", `?${kept}`);
  };
  const groupCell = el("div", {}, el("h3", {}, "Groups"), groups);
  const scatterCell = el("div", {}, el("h3", {}, "Parameter against metric"), scatter);
  const draw = async (what) => {
    keep(true);
    // ungrouped, the scatter takes the row; grouped, the two share it (placed before the
    // drawings read their width)
    groups.hidden = groupCell.hidden = !state.group;
    scatterCell.classList.toggle("wide", !state.group);
    groupNote.hidden = Boolean(state.group);
    if (what.has("parallel")) drawParallel(parallel, data, state.metric);
    if (what.has("scatter")) drawScatter(scatter, data, state.param, state.metric, runColor);
    if (what.has("groups") && state.group) {
      await drawGroups(groups, filters, state.group, state.metric, groupColor).catch((error) =>
        groups.replaceChildren(el("p", { class: "error" }, String(error.message || error))));
    }
  };
  const select = (label, options, name, redraws) => {
    const box = el("select", { "aria-label": label, onchange: () => { state[name] = box.value; draw(new Set(redraws)); } },
      options.map(([value, words]) => el("option", { value }, words)));
    box.value = state[name];
    return el("label", {}, label, box);
  };
  const keyOptions = keys.map((key) => [key, key]);
  const opened = ["group", "metric", "param"].some((name) => params.has(name));
  const details = el("details", opened ? { open: "" } : {}, heading,
    el("div", { class: "bar" },
      select("group by", [["", "(none)"], ...keyOptions], "group", ["groups", "scatter"]),
      select("metric", data.metrics.map((m) => [m, m]), "metric", ["parallel", "groups", "scatter"]),
      select("x", keyOptions, "param", ["scatter"]),
      data.constant ? el("span", { class: "note" }, `${data.constant} config keys hold the same value in every run`) : null,
      groupNote),
    el("div", { class: "panels" },
      el("div", { class: "wide" }, el("h3", {}, "Parallel coordinates"), parallel),
      groupCell, scatterCell));
  const everything = new Set(["parallel", "groups", "scatter"]);
  let shown = opened;  // a details made open fires a toggle too: that one is no news
  details.addEventListener("toggle", () => {
    if (details.open === shown) return;
    shown = details.open;
    if (shown) draw(everything); else keep(false);
  });
  node.replaceChildren(details);
  if (opened) await draw(everything);
}
