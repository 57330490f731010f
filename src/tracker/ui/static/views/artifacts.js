// The run page's artifacts: what the run saved (step, metrics at save, size, present/gone,
// the best starred; each a link to its own lineage page) and its lineage (views/lineage.js),
// from /api/runs/<id>/lineage (`tracker lineage --json`); its
// checkpoints are also marks on the run's charts, at the steps they were saved.

import { api, cell, el, fmt, fmtUnit, num, runLink, table } from "../common.js";
import { evaluationsTable } from "./evals.js";
import { lineageFlow, lineagePath, lineageWindow } from "./lineage.js";

const SHOWN_METRICS = 3;
const STATE_COLORS = { present: "#1a7f37", gone: "#8c959f", changed: "#cf222e", unreadable: "#cf222e" };
const BEST_COLOR = "#e8590c";  // orange: not a warn alert's amber

// Where an artifact's row is on its run's page (the table is #artifacts).
export function artifactAnchor(artifact) {
  return `artifact-${artifact.direction}-${artifact.name}-v${artifact.version}`;
}

// A version's own lineage page (views/lineage.js, /lineage?ref=): by its digest, else its uri.
export function lineageHref(version) {
  return `/lineage?ref=${encodeURIComponent(version.digest || version.uri)}`;
}

export function stateBadge(state) {
  return el("span", { class: `artifact-state ${state}`, style: `color:${STATE_COLORS[state] || "inherit"}` }, state);
}

function metricsAtSave(metrics) {
  const entries = Object.entries(metrics || {});
  const shown = entries.slice(0, SHOWN_METRICS).map(([key, value]) => `${key} ${fmtUnit(key, num(value))}`);
  return entries.length > SHOWN_METRICS ? `${shown.join(", ")}, …` : shown.join(", ");
}

// Links to the runs of `ids`, named from the lineage's `names`.
export function runLinks(ids, names) {
  return ids.flatMap((id, i) => [i ? ", " : "", runLink({ id, name: names[id] || id })]);
}

function outputRow(a, names) {
  const row = el("tr", { id: artifactAnchor(a), class: `artifact ${a.state}${a.best ? " best" : ""}` },
    cell(el("a", { href: lineageHref(a), title: "its lineage" }, `${a.name} v${a.version}`)), cell(a.kind_label),
    cell(fmt(a.step), true), cell(metricsAtSave(a.metrics)), cell(a.size === null ? "-" : fmtUnit("size_bytes", a.size), true),
    cell(stateBadge(a.state)),
    cell(a.best ? el("span", { class: "star", title: "best", style: `color:${BEST_COLOR}` }, "★") : ""),
    cell(el("span", { class: "uri", title: a.digest || "" }, a.uri)),
    cell(a.used_by.length ? runLinks(a.used_by, names) : "-"));
  row.dataset.step = a.step === null ? "" : String(a.step);
  return row;
}

function outputsTable(outputs, names) {
  if (!outputs.length) return el("p", { class: "muted" }, "No artifacts.");
  return table(["Artifact", "Kind", "Step", "Metrics at save", "Size", "State", "Best", "URI", "Used by"],
    outputs.map((a) => outputRow(a, names)));
}

// The run's saves as chart marks, instead of its "checkpoint" events (older runs, which
// have no artifacts, keep those): the best gold, the gone grey.
function withSaves(marks, outputs, startedAt) {
  const saved = outputs.filter((a) => a.step !== null && a.step !== undefined);
  if (!saved.length) return marks;
  return [...marks.filter((mark) => mark.kind !== "checkpoint"), ...saved.map((a) => ({
    kind: "artifact", label: a.best ? "best checkpoint" : a.state === "present" ? "checkpoint" : `checkpoint ${a.state}`,
    step: a.step, at: a.created_at, startedAt,
    color: a.best ? BEST_COLOR : STATE_COLORS[a.state] || STATE_COLORS.present }))];
}

// {nodes, ready, marks(eventMarks, startedAt), refresh()}: the section's nodes go on the
// page at once and fill in when the lineage arrives (ready).
export function artifactsSection(runId) {
  let lineage = { inputs: [], outputs: [], names: {} };
  const outputs = el("div", { class: "artifacts" });
  const flow = el("div", { class: "lineage" });
  const evaluations = el("div", { class: "evaluations", id: "evaluations-list" });
  let wanted = lineageWindow(new URLSearchParams(location.search));
  const refresh = async () => {
    lineage = await api(lineagePath(`/api/runs/${encodeURIComponent(runId)}/lineage`, wanted));
    outputs.replaceChildren(outputsTable(lineage.outputs, lineage.names));
    evaluations.replaceChildren(evaluationsTable(lineage.evaluations || []));
    flow.replaceChildren(lineageFlow(lineage, (wider) => { wanted = wider; return refresh(); }));
  };
  // a link to one artifact (#artifact-...) is followed once its row exists
  const ready = refresh().then(() => {
    if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
  });
  return {
    nodes: [el("h2", { id: "artifacts" }, "Artifacts"), outputs,
      el("h2", { id: "evaluations" }, "Evaluations"), evaluations, el("h2", {}, "Lineage"), flow],
    ready,
    marks: (marks, startedAt) => withSaves(marks, lineage.outputs, startedAt),
    refresh,
  };
}
