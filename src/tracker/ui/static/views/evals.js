// Evaluations of checkpoints (docs/evaluations.md), from /api/evals and /api/evals/diff:
//   /evals?project=P     the leaderboard (default: the newest run's project): a row per evaluated version, a column per
//                        task/metric, sortable by a click on its header, each column's best
//                        starred, each checkpoint a link to its own lineage page (/lineage?ref=)
//   /evals/diff?a=&b=    two evaluations of one task: the samples that went right → wrong
//                        and wrong → right, target and both responses side by side
// On a run's page, evaluationsTable lists its checkpoints' scores (the lineage's).

import { api, cell, el, fmt, table } from "../common.js";
import { lineageHref } from "./artifacts.js";

const BEST_COLOR = "#bf8700";

// A row's version, a link to its lineage (no run produced it: its path, the evaluation's).
function checkpointLink(row) {
  if (!(row.digest || row.uri)) return el("span", { class: "uri" }, "(no version named)");
  if (row.run_id === null) return el("a", { class: "uri", href: lineageHref(row) }, row.uri);
  return el("a", { href: lineageHref(row) }, `${row.name} v${row.version}`);
}

function scoreCell(row, column, best) {
  const value = row[column];
  if (value === null || value === undefined) return cell("-", true);
  const td = cell(fmt(value), true);
  td.dataset.column = column;
  if (best) {
    td.classList.add("best");
    td.append(el("span", { class: "star", title: "best", style: `color:${BEST_COLOR}` }, " ★"));
  }
  return td;
}

// Rows ordered by `column` (best first as the column's best tells: its direction), or as
// the store gives them where `column` is null; missing values last.
function sorted(board, column, descending) {
  const order = board.rows.map((row, i) => i);
  if (column === null) return order;
  const key = (i) => { const v = board.rows[i][column]; return v === null || Number.isNaN(Number(v)) ? null : Number(v); };
  return order.sort((i, j) => {
    const a = key(i), b = key(j);
    if (a === null || b === null) return (a === null) - (b === null);
    return descending ? b - a : a - b;
  });
}

function boardTable(board, state, redraw) {
  const headers = ["Run", "Step", "Kind", "State", "Checkpoint", ...board.columns].map((h, k) => {
    const column = k >= 5 ? h : null;
    const mark = column !== null && state.column === column ? (state.descending ? " ▼" : " ▲") : "";
    const th = el("th", column === null ? {} : { class: "sortable", title: "sort",
      onclick: () => { state.descending = state.column === column ? !state.descending : true; state.column = column; redraw(); } },
    h + mark);
    return th;
  });
  const rows = sorted(board, state.column, state.descending).map((i) => {
    const row = board.rows[i];
    const tr = el("tr", { class: "eval-row" },
      cell(row.run_id === null ? "-" : el("a", { href: `/runs/${encodeURIComponent(row.run_id)}` }, row.run_id)),
      cell(fmt(row.step), true), cell(row.kind || "-"), cell(row.state || "unknown"), cell(checkpointLink(row)),
      board.columns.map((c) => scoreCell(row, c, board.best[c] === i)));
    tr.dataset.index = String(i);
    return tr;
  });
  return el("table", { id: "leaderboard" }, el("thead", {}, el("tr", {}, headers)), el("tbody", {}, rows));
}

export async function evalsPage(app, params) {
  const board = await api(`/api/evals?project=${encodeURIComponent(params.get("project") || "")}`);
  const project = board.project;
  const state = { column: null, descending: true };
  const holder = el("div", {});
  const redraw = () => holder.replaceChildren(boardTable(board, state, redraw));
  redraw();
  app.replaceChildren(el("h1", {}, `Evaluations: ${project}`),
    board.rows.length ? holder : el("p", { class: "muted" },
      "No evaluated checkpoints: record scores with run.log_evaluation (docs/evaluations.md)."));
}

function changesTable(title, id, changes) {
  return [el("h2", {}, `${title} (${changes.length})`), table(["Doc", "Target", "Response A", "Response B"],
    changes.map((c) => el("tr", { class: `diff-row ${id}` }, cell(fmt(c.doc_id), true),
      cell(fmt(c.a.target)), cell(fmt(c.a.response)), cell(fmt(c.b.response)))))];
}

export async function diffPage(app, params) {
  const query = new URLSearchParams({ a: params.get("a") || "", b: params.get("b") || "" });
  if (params.get("metric")) query.set("metric", params.get("metric"));
  const diff = await api(`/api/evals/diff?${query}`);
  const c = diff.counts;
  app.replaceChildren(el("h1", {}, `${diff.task}: ${diff.a} → ${diff.b}`),
    el("p", { id: "diff-counts" }, `judged by ${diff.metric}: ${diff.worse.length} right → wrong, `
      + `${diff.better.length} wrong → right, ${c.right_both} right in both, ${c.wrong_both} wrong in both`),
    el("div", { id: "worse" }, changesTable("Right → wrong", "worse", diff.worse)),
    el("div", { id: "better" }, changesTable("Wrong → right", "better", diff.better)));
}

// A run's or a version's evaluations (the lineage's `evaluations`): one row per score, the
// version evaluated a link to its lineage; two evaluations of one task link to their sample diff.
export function evaluationsTable(evaluations, none = "No evaluations of its checkpoints.") {
  if (!evaluations.length) return el("p", { class: "muted" }, none);
  const firstOf = {};
  return table(["Task", "Metric", "Value", "± stderr", "Checkpoint", "Evaluated by", "Samples"],
    evaluations.map((e) => {
      const earlier = firstOf[e.task];
      if (earlier === undefined && e.samples) firstOf[e.task] = e.eval_id;
      const diff = earlier && earlier !== e.eval_id && e.samples
        ? el("a", { href: `/evals/diff?a=${encodeURIComponent(earlier)}&b=${encodeURIComponent(e.eval_id)}` }, "diff")
        : (e.samples ? "yes" : "-");
      return el("tr", { class: "evaluation" }, cell(e.task), cell(e.metric), cell(fmt(e.value), true),
        cell(e.stderr === null ? "-" : fmt(e.stderr), true), cell(el("a", { class: "uri", href: lineageHref(e) }, e.uri)),
        cell(el("a", { href: `/runs/${encodeURIComponent(e.run_id)}` }, e.run_id)), cell(diff));
    }));
}
