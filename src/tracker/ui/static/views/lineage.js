// A lineage (`tracker lineage --json`: nodes and edges, both ways from a root) as columns
// by hops: what it came from on the left, farthest first (base model → SFT run →
// checkpoint), the root in the middle, what came of it on the right (its outputs → the
// runs that used them → theirs). Each card is a run or a version, and a link where there
// is a page: a run to its page, a version to its row in its producer's artifacts table;
// an input no recorded run produced (a hub id) is text. A card at the depth limit with
// links further says so. A node both upstream and downstream (a cycle) is shown once,
// upstream. An evaluation of a version is a card one column on from it: its task, a link
// to the run that evaluated, each score (± its standard error).
// The flow is on a run's page (views/artifacts.js) and on a version's own page,
// /lineage?ref=PATH_URI_OR_DIGEST (lineagePage: /api/lineage, `tracker lineage REF --json`):
// what the version is, the runs that made it, its evaluations, then the flow rooted at it.
// Both ask for a window, DEPTH hops each way and WIDTH cards a column (a chain of
// thousands of runs would be thousands of cards, and its answer megabytes; so would a
// checkpoint thousands of runs started from): where there is more, a bar under the flow
// asks for DEPTH hops more or the whole chain (depth=12, depth=all in the address), and a
// column with more than WIDTH cards ends in a button for all of them (cards=all).

import { api, el, fmt, keepInAddress, runLink } from "../common.js";
import { artifactAnchor, runLinks, stateBadge } from "./artifacts.js";
import { evaluationsTable } from "./evals.js";

// Where a node goes: -hops upstream, +hops downstream, 0 the root.
function column(node) {
  return node.upstream !== null ? -node.upstream : node.downstream;
}

function versionCard(node, producer) {
  const a = node.artifact;
  const made = a.direction === "output";
  const title = made ? `${a.name} v${a.version}` : a.name;
  return [el("div", { class: "kind" }, a.kind_label, a.best ? " ★" : ""),
    producer ? el("a", { href: `/runs/${encodeURIComponent(producer)}#${artifactAnchor(a)}` }, title)
      : el("span", {}, title),
    a.uri !== a.name ? el("div", { class: "uri" }, a.uri) : null,
    el("div", { class: "note" }, made ? ["step ", fmt(a.step), " · "] : null, stateBadge(a.state))];
}

function evaluationCard(node) {
  const e = node.evaluation;
  return [el("div", { class: "kind" }, "evaluation"), el("span", {}, e.task),
    el("ul", { class: "scores" }, e.scores.map((s) => el("li", { class: "score" }, `${s.metric} `,
      fmt(s.value), s.stderr === null ? null : ` ± ${fmt(s.stderr)}`))),
    el("div", { class: "note" }, "by ", runLink(e.run))];
}

function body(node) {
  if (node.kind === "run") return [el("div", { class: "kind" }, "run"), runLink(node.run)];
  if (node.kind === "evaluation") return evaluationCard(node);
  return versionCard(node, node.artifact.direction === "output" ? node.artifact.run_id : null);
}

function card(node, lineage) {
  const cls = `card ${node.kind}${node.id === lineage.root ? " root" : ""}${node.more ? " more" : ""}`;
  return el("li", { class: cls, "data-node": node.id, "data-hops": String(column(node)) }, body(node),
    node.more ? el("div", { class: "note" }, "more beyond this depth") : null);
}

function heading(hops) {
  if (hops === 0) return "This";
  return hops < 0 ? `${-hops} back` : `${hops} on`;
}

export function lineageFlow(lineage, reload) {
  const nodes = lineage.nodes || [];
  if (nodes.length <= 1) return el("p", { class: "muted" }, "No lineage recorded.");
  const byColumn = new Map();
  for (const node of nodes) {
    const at = column(node);
    if (!byColumn.has(at)) byColumn.set(at, []);
    byColumn.get(at).push(node);
  }
  const hidden = new Map((lineage.hidden || []).map((h) => [h.hops, h.nodes]));
  const columns = [...byColumn.keys()].sort((a, b) => a - b);
  return el("div", {}, el("div", { class: "flow" }, columns.flatMap((at, i) => [
    i ? el("div", { class: "arrow" }, "→") : null,
    el("div", { class: "column", "data-hops": String(at) }, el("h3", {}, heading(at),
      hidden.has(at) ? ` · ${byColumn.get(at).length} of ${byColumn.get(at).length + hidden.get(at)}` : null),
      el("ul", {}, byColumn.get(at).map((node) => card(node, lineage)),
        hidden.has(at) ? rest(hidden.get(at), lineage, reload) : null)),
  ])), depthBar(lineage, reload));
}

export const DEPTH = 6;
export const WIDTH = 100;

// The window the address asks for: `depth` hops each way (null: the whole chain,
// depth=all) and `width` cards a column (null: all, cards=all).
export function lineageWindow(params) {
  const asked = params.get("depth");
  const hops = Number.parseInt(asked, 10);
  return {
    depth: asked === "all" ? null : hops > 0 ? hops : DEPTH,
    width: params.get("cards") === "all" ? null : WIDTH,
  };
}

// `path` (an /api/... lineage) asking for the window `wanted` (lineageWindow).
export function lineagePath(path, wanted) {
  const query = [wanted.depth === null ? null : `depth=${wanted.depth}`,
    wanted.width === null ? null : `width=${wanted.width}`].filter(Boolean).join("&");
  return query ? `${path}${path.includes("?") ? "&" : "?"}${query}` : path;
}

// A column's cards past the width: a button that asks for every card.
function rest(count, lineage, reload) {
  return el("li", { class: "rest" }, el("button", {
    type: "button",
    onclick: () => {
      keepInAddress("cards", "all");
      reload({ depth: lineage.depth, width: null });
    },
  }, `${count} more`));
}

// Under a flow cut at its depth: what it shows, and buttons for more hops or all of it
// (`reload(wanted)` fetches and draws again; the depth is kept in the address).
function depthBar(lineage, reload) {
  if (lineage.depth === null || !lineage.nodes.some((node) => node.more)) return null;
  const to = (depth) => () => {
    keepInAddress("depth", depth === null ? "all" : depth, DEPTH);
    reload({ depth, width: lineage.width });
  };
  return el("p", { class: "depth-bar muted" },
    `Showing ${lineage.depth} hops each way. `,
    el("button", { type: "button", class: "deeper", onclick: to(lineage.depth + DEPTH) },
      `Show ${lineage.depth + DEPTH} hops`), " ",
    el("button", { type: "button", class: "whole", onclick: to(null) }, "Show the whole chain"));
}

// The version at the root: its kind, state, uri and the runs that produced it.
function about(lineage) {
  const a = lineage.nodes.find((node) => node.id === lineage.root).artifact;
  const makers = [...new Set(lineage.edges.filter((e) => e.to === lineage.root && e.kind === "produced")
    .map((e) => e.from.slice("run:".length)))];
  return [el("h1", {}, "Lineage of ", a.direction === "output" ? `${a.name} v${a.version}` : a.name),
    el("p", { id: "version-about" }, `${a.kind_label} · `, stateBadge(a.state), " · ", el("span", { class: "uri" }, a.uri),
      ...(makers.length ? [" · made by ", ...runLinks(makers, lineage.names)] : [" · no recorded run made it"]))];
}

export async function lineagePage(app, params) {
  const path = `/api/lineage?ref=${encodeURIComponent(params.get("ref") || "")}`;
  const flow = el("div", { class: "lineage" });
  const draw = async (wanted) => {
    const lineage = await api(lineagePath(path, wanted));
    flow.replaceChildren(lineageFlow(lineage, draw));
    return lineage;
  };
  const lineage = await draw(lineageWindow(params));
  app.replaceChildren(...about(lineage),
    el("h2", { id: "evaluations" }, "Evaluations"),
    el("div", { class: "evaluations", id: "evaluations-list" },
      evaluationsTable(lineage.evaluations, "No evaluations of this version.")),
    el("h2", {}, "Lineage"), flow);
}
