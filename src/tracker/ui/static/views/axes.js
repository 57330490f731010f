// What the sweep's drawings (parallel.js, scatter.js) share: scales that place a config
// value or a final metric on an axis, their ticks, a colour ramp, and SVG nodes. Every
// name and value goes on the page as text (textContent, setAttribute).

import { num } from "../common.js";
import { fmtTicks, niceTicks } from "../numbers.js";

const SVG = "http://www.w3.org/2000/svg";
export const UNSET = -0.12;  // where a run without the value sits: below its axis
const LABEL = 24;  // characters of a category's text shown on an axis

export function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function text(x, y, words, attributes = {}) {
  return svg("text", { x, y, ...attributes }, String(words));
}

export function cut(words, size = LABEL) {
  const shown = String(words);
  return shown.length > size ? `${shown.slice(0, size - 1)}…` : shown;
}

// A scale over values (numbers, texts, null): {at(value) -> 0..1 or UNSET, ticks:
// [[position, label]], log}. kind "number": linear, or logarithmic when every value is
// positive and they span a decade or more (learning rates: 1e-4 to 3e-3 on a linear
// axis puts 1e-4 and 3e-4 on one spot); "category": one evenly
// spaced slot per text, in the order given.
export function scaleOf(kind, values, categories) {
  const unset = values.some((v) => !isSet(kind, v));
  if (kind === "category") {
    const order = categories || [...new Set(values.filter((v) => isSet(kind, v)))].sort();
    const slot = new Map(order.map((c, i) => [c, order.length === 1 ? 0.5 : i / (order.length - 1)]));
    const every = Math.max(1, Math.ceil(order.length / 12));  // at most 12 labels
    return { log: false, unset, at: (v) => (slot.has(v) ? slot.get(v) : UNSET),
      ticks: order.filter((_, i) => i % every === 0).map((c) => [slot.get(c), cut(c)]) };
  }
  const finite = values.map(num).filter((v) => typeof v === "number" && Number.isFinite(v));
  let lo = Math.min(...finite), hi = Math.max(...finite);
  const log = finite.length > 0 && lo > 0 && hi / lo >= 10;
  const f = log ? Math.log10 : (v) => v;
  if (!finite.length) lo = hi = 0;
  const span = f(hi) - f(lo);
  const at = (v) => {
    const n = num(v);
    if (typeof n !== "number" || !Number.isFinite(n)) return UNSET;
    return span > 0 ? (f(n) - f(lo)) / span : 0.5;
  };
  const distinct = [...new Set(finite)].sort((a, b) => a - b);
  const marks = distinct.length <= 8 ? distinct : niceTicks(lo, hi, log);
  const labels = fmtTicks(marks);
  return { log, unset, at, ticks: marks.map((v, i) => [at(v), labels[i]]) };
}

// Hide the labels (SVG texts along one axis, "x" or "y") that would overlap one kept
// before them, nearer the axis's start, with GAP pixels between: measured once the SVG is
// on the page (a folded panel has no size: nothing is hidden then).
const GAP = 4;
export function spaceOut(labels, along = "x") {
  const [start, size] = along === "x" ? ["x", "width"] : ["y", "height"];
  const placed = [...labels].map((label) => [label, label.getBBox()]).filter(([, box]) => box[size] > 0);
  placed.sort((a, b) => a[1][start] - b[1][start]);
  let end = -Infinity;
  for (const [label, box] of placed) {
    if (box[start] < end + GAP) label.setAttribute("display", "none");
    else end = box[start] + box[size];
  }
}

function isSet(kind, value) {
  if (value === null || value === undefined) return false;
  if (kind === "category") return true;
  const n = num(value);
  return typeof n === "number" && Number.isFinite(n);
}

// A colour for a position 0..1 along a metric's axis (viridis-like: dark blue to yellow);
// grey for a run without the value.
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export function rampColor(position) {
  if (!(position >= 0)) return "#8c959f";
  const scaled = Math.min(1, position) * (RAMP.length - 1), i = Math.min(RAMP.length - 2, Math.floor(scaled));
  const t = scaled - i;
  const channel = (c) => Math.round(RAMP[i][c] + t * (RAMP[i + 1][c] - RAMP[i][c]));
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}
