// What every view shares: building DOM (el, table, cell), asking the API (api), and
// showing values: numbers, times, durations, units, run links, status badges, events.
// Numbers are written by numbers.js (fmtNumber), the one formatter of every page.

import { fmtNumber } from "./numbers.js";

// A run's colour, the same on every page whatever is filtered, sorted or hidden: the server
// gives each run its rank among its project's runs by start time (`color` in its row), and
// that rank picks one of 20 well-separated colours (Matplotlib's ten, then ten darker or
// brighter ones), then golden-angle hues past the twentieth.
export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
  "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#000075", "#469990", "#800000", "#808000",
  "#f032e6", "#e6ab02", "#4b0082", "#fb9a99", "#1b9e77", "#a6cee3"];

export function colorOf(index) {
  const i = Number.isInteger(index) && index >= 0 ? index : 0;
  if (i < PALETTE.length) return PALETTE[i];
  const h = (i * 137.508) % 360, s = 0.65, l = 0.42;
  const f = (n) => {
    const k = (n + h / 30) % 12, a = s * Math.min(l, 1 - l);
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)))).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

export const REFRESH_MS = 3000;

// -- small helpers -------------------------------------------------------------------
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);  // strings become text
  }
  return node;
}

// Keeps `name=value` in the page's address (a default value drops it), so that a link or
// a reload shows the same view.
export function keepInAddress(name, value, fallback = "") {
  const kept = new URLSearchParams(location.search);
  if (value === fallback || value === null || value === undefined) kept.delete(name); else kept.set(name, String(value));
  const query = kept.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

export async function api(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// /api/curves?format=binary (tracker/ui/wire.py): a JSON header, then each curve's fields
// as float64 arrays, read as Float64Array views of the answer (no copy, nothing parsed;
// little-endian, as the platforms browsers run on): {key, fields, curves: [{run, count,
// nonfinite, points, steps, values, ...}]}.
export async function apiPacked(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error || response.statusText);
  }
  const buffer = await response.arrayBuffer();
  const length = new DataView(buffer).getUint32(0, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  let at = 4 + length;
  for (const curve of head.curves) {
    for (const field of head.fields) {
      curve[field] = new Float64Array(buffer, at, curve.points);
      at += 8 * curve.points;
    }
  }
  return head;
}

// JSON has no NaN: the API names non-finite floats ("NaN", "Infinity", "-Infinity").
const NONFINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

export function num(value) {
  return typeof value === "string" && value in NONFINITE ? NONFINITE[value] : value;
}

// A value as text: a number by fmtNumber (with 4 digits), except an integer, which is
// exact (a seed, a batch size, a step, a count); strings as they are.
export function fmt(value) {
  if (value === null || value === undefined) return "-";
  if (typeof value === "string") return value;
  if (typeof value !== "number") return JSON.stringify(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  return fmtNumber(value, 4);
}

// Local time as "2026-11-29 14:03:07": toLocaleString would load the locale's data first,
// tens of milliseconds of the main thread while the page's first chart waits.
export function fmtTime(seconds) {
  if (!seconds) return "-";
  const d = new Date(seconds * 1000), two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  if (h) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

// -- units ----------------------------------------------------------------------------------
// A metric's unit, from the naming scheme (docs/naming.md, docs/system-metrics.md): values
// are shown in it, scaled to what people read (GiB, not 17179869184; 5m03s, not 303).
const UNIT_RULES = [
  [/_bytes_per_second$/, "bytes/s"], [/_bytes$/, "bytes"], [/^system\/peak_memory/, "GiB"],
  [/(^|\/|_)(percent|utilization)$/, "%"], [/\/mfu$/, "ratio"],
  [/tokens_per_second$/, "tokens/s"], [/flops_per_second$/, "FLOP/s"],
  [/samples_per_second$/, "samples/s"], [/steps_per_second$/, "steps/s"],
  [/_watts$/, "W"], [/_celsius$/, "°C"], [/_mhz$/, "MHz"],
  [/(runtime|_seconds|duration)$/, "s"],
];
const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const DECIMAL = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];

export function unitOf(key) {
  const found = UNIT_RULES.find(([pattern]) => pattern.test(key));
  return found ? found[1] : "";
}

// How values of `unit` whose largest magnitude is `top` are shown: divided by `div`,
// followed by `label`.
export function scaleFor(unit, top) {
  const big = Number.isFinite(top) ? Math.abs(top) : 0;
  if (unit === "bytes" || unit === "bytes/s") {
    let i = 0;
    while (i < BINARY.length - 1 && big >= 1024 ** (i + 1)) i++;
    return { div: 1024 ** i, label: BINARY[i] + (unit === "bytes/s" ? "/s" : "") };
  }
  if (unit === "s") {
    if (big >= 2 * 3600) return { div: 3600, label: "h" };
    if (big >= 2 * 60) return { div: 60, label: "min" };
    return { div: 1, label: "s" };
  }
  if (unit === "ratio") return { div: 0.01, label: "%" };
  if (unit.endsWith("/s")) {
    const [div, prefix] = DECIMAL.find(([d]) => big >= d) || [1, ""];
    return { div, label: prefix ? `${prefix} ${unit}` : unit };
  }
  return { div: 1, label: unit };
}

// One value of metric `key` with its unit: "15.6 GiB", "42.1 %", "5m03s", "12.3 k
// tokens/s"; without a unit as fmtNumber writes it (12.29M tokens seen, not 12288000).
export function fmtUnit(key, value) {
  const unit = unitOf(key);
  if (typeof value !== "number") return fmt(value);
  if (!Number.isFinite(value) || !unit) return fmtNumber(value, 4);
  if (unit === "s") return fmtDuration(value);
  const { div, label } = scaleFor(unit, value);
  return `${fmtNumber(value / div)} ${label}`;
}

// -- events ---------------------------------------------------------------------------------
// What an event means, in words: [what, details]. Kinds the tracker records are explained;
// a user's own (log_event) shows its payload as key: value pairs.
const EVENT_WORDS = {
  resumed: "resumed: a new process continued this run (same run id)",
  reopened: "reopened: logged to after finish() (an evaluation after training), same run",
  store_error: "store unreachable for a while: the data was kept and written afterwards",
};

function pairs(payload) {
  return Object.entries(payload || {}).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ");
}

function explainEvent(event) {
  const p = event.payload || {};
  if (event.kind === "alert") return [`${p.level || "info"} alert: ${p.title || ""}`, p.text || ""];
  if (event.kind === "store_error") {
    const lost = p.dropped_points ? `; ${p.dropped_points} points dropped` : "";
    return [EVENT_WORDS.store_error, `${p.uri || ""} from ${fmtTime(p.since)} to ${fmtTime(p.until)} (${p.error || ""})${lost}`];
  }
  return [EVENT_WORDS[event.kind] || event.kind, pairs(p)];
}

export const CHECKPOINT_COLOR = "#1a7f37";  // as a saved checkpoint's mark (views/artifacts.js)

export function eventColor(event) {
  if (event.kind === "checkpoint") return CHECKPOINT_COLOR;
  const level = event.kind === "alert" ? (event.payload || {}).level : null;
  return { error: "#cf222e", warn: "#bf8700", info: "#0969da" }[level] || "#8c959f";
}

export function eventTable(events, runName) {
  if (!events.length) return el("p", { class: "muted" }, "No events.");
  return table(["Time", ...(runName ? ["Run"] : []), "What", "Step", "Details"], events.map((e) => {
    const [what, details] = explainEvent(e);
    return el("tr", { class: `event ${e.kind}` }, cell(fmtTime(e.at)), runName ? cell(runName(e.run)) : null,
      el("td", {}, el("span", { class: "mark", style: `background:${eventColor(e)}` }), what),
      cell(fmt(e.step), true), cell(details));
  }));
}

export function statusBadge(status) {
  return el("span", { class: `status ${status}` }, status);
}

export function runLink(run) {
  return el("a", { href: `/runs/${encodeURIComponent(run.id)}` }, run.name);
}

export function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

export function cell(value, numeric) {
  return el("td", numeric ? { class: "num" } : {}, value);
}

export function showError(error) {
  const app = document.getElementById("app");
  app.replaceChildren(el("p", { class: "error" }, String(error.message || error)));
}

export function runLabel(run) {
  if (!run) return "-";
  return el("span", {}, el("span", { class: "swatch", style: `background:${run.color}` }), run.name);
}

// A metric that holds one value (in each run): a number, not a flat chart. values: one per
// run, labels: what names each run (a node or text).
export function numberTile(key, values, labels) {
  const same = values.every((v) => Object.is(v, values[0]));
  return el("div", { class: "tile", "data-key": key },
    el("div", { class: "note" }, key),
    same
      ? el("div", { class: "value" }, fmtUnit(key, values[0]),
          values.length > 1 ? el("span", { class: "note" }, ` (all ${values.length} runs)`) : null)
      : el("ul", {}, values.map((value, i) => el("li", {}, labels[i], " ", fmtUnit(key, value)))));
}

export function numbersSection(tiles, note) {
  return tiles.length ? el("section", { class: "numbers" }, el("h2", {}, "Numbers"),
    el("p", { class: "note" }, note), el("div", { class: "tiles" }, tiles)) : null;
}

export function holdsOneValue(stats) {
  return stats.count === 1 || Object.is(num(stats.min), num(stats.max));
}

export function filterInputs(params) {
  const inputs = {
    project: el("input", { type: "text", placeholder: "project", "aria-label": "project" }),
    name: el("input", { type: "search", placeholder: "name contains", "aria-label": "name" }),
    tag: el("input", { type: "text", placeholder: "tag", "aria-label": "tag" }),
    framework: el("input", { type: "text", placeholder: "framework", "aria-label": "framework" }),
    sweep: el("input", { type: "text", placeholder: "sweep", "aria-label": "sweep" }),
    status: el("select", { "aria-label": "status" }, el("option", { value: "" }, "any status"),
      ["running", "finished", "failed", "interrupted", "crashed"].map((s) => el("option", { value: s }, s))),
  };
  for (const [name, input] of Object.entries(inputs)) input.value = params.get(name) || "";
  return inputs;
}
