// A run's lineage as four columns: its inputs (base model, datasets, a checkpoint, each
// linked to the run that produced it) → the run → its outputs (each linked to its row in
// the artifacts table) → the later runs that started from them. Every item is a link
// where there is a page to go to; a reference no recorded run produced (a hub id) is text.

import { el, fmt, runLink } from "../common.js";
import { artifactAnchor, runLinks, stateBadge } from "./artifacts.js";

// An input another run produced links to that run's artifacts (the first, if several did).
function inputCard(a, lineage) {
  const title = a.from.length
    ? el("a", { href: `/runs/${encodeURIComponent(a.from[0])}#artifacts` }, a.name) : el("span", {}, a.name);
  return el("li", { class: "card input" }, el("div", { class: "kind" }, a.kind), title,
    a.uri !== a.name ? el("div", { class: "uri" }, a.uri) : null,
    a.from.length ? el("div", { class: "note" }, "made by ", runLinks(a.from, lineage.names)) : null);
}

function outputCard(a) {
  return el("li", { class: `card output ${a.state}` }, el("div", { class: "kind" }, a.kind, a.best ? " ★" : ""),
    el("a", { href: `#${artifactAnchor(a)}` }, `${a.name} v${a.version}`),
    el("div", { class: "note" }, "step ", fmt(a.step), " · ", stateBadge(a.state)));
}

function column(title, items, empty) {
  return el("div", { class: "column" }, el("h3", {}, title),
    items.length ? el("ul", {}, items) : el("p", { class: "muted" }, empty));
}

export function lineageFlow(lineage) {
  const run = lineage.run;
  const later = [...new Set(lineage.outputs.flatMap((a) => a.used_by))];
  return el("div", { class: "flow" },
    column("Inputs", lineage.inputs.map((a) => inputCard(a, lineage)), "none recorded"),
    el("div", { class: "arrow" }, "→"),
    column("Run", run ? [el("li", { class: "card run" }, runLink(run))] : [], ""),
    el("div", { class: "arrow" }, "→"),
    column("Outputs", lineage.outputs.map(outputCard), "none recorded"),
    el("div", { class: "arrow" }, "→"),
    column("Later runs", later.map((id) => el("li", { class: "card run" }, runLinks([id], lineage.names))), "none yet"));
}
