// The runs table (/?view=table): filters, a row per run, runs picked to compare.
// A page of PAGE_ROWS runs at a time (the server reads that page only and says how many
// runs match): a store of 10,000 runs never puts 10,000 rows in the page. Runs picked to
// compare stay picked across pages and filters.
//
// Columns of the user's choice follow the run's own: any config path (config:model.lora.r),
// summary path (summary:best) or metric's final value (metric:eval/loss), picked from the
// keys the matching runs have (/api/columns) or typed. A click on a column's name sorts
// by it on the server (tracker.store.order: numbers by value, the runs without one last),
// a second click the other way. Columns, order and filters are kept in the address
// (cols=, sort=, and the filters' names), so a link shows the same table.

import {
  REFRESH_MS, api, cell, colorOf, el, filterInputs, fmt, fmtDuration, fmtTime, num, runLink, showError,
  statusBadge
} from "../common.js";

const PAGE_ROWS = 100;
const DEFAULT_COLUMNS = ["metric:train/loss", "metric:eval/loss"];
// the run's own columns: [header, column it sorts by (null: not sortable)]
const FIXED = [["Name", "name"], ["Project", "project"], ["Framework", "framework"], ["Status", null],
  ["Started", "started_at"], ["Duration", null], ["Step", null]];
const SOURCES = { config: "config", summary: "summary", metric: "final" };

const thousands = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

// "metric:eval/loss" -> "eval/loss (final)"; "config:learning_rate" -> "learning_rate"
function columnTitle(column) {
  const [source, key] = [column.slice(0, column.indexOf(":")), column.slice(column.indexOf(":") + 1)];
  if (source === "config") return key;
  return source in SOURCES ? `${key} (${SOURCES[source]})` : column;
}

export async function runsPage(app) {
  const params = new URLSearchParams(location.search);
  const selected = new Set();
  const filters = filterInputs(params);
  let columns = params.has("cols") ? params.getAll("cols").filter(Boolean) : [...DEFAULT_COLUMNS];
  let sort = params.get("sort") || "";  // "" newest first, "-x" descending by x
  const keep = () => {
    const kept = new URLSearchParams({ view: "table" });
    for (const [name, input] of Object.entries(filters)) if (input.value) kept.set(name, input.value);
    if (columns.join("\n") !== DEFAULT_COLUMNS.join("\n")) {
      if (columns.length) for (const column of columns) kept.append("cols", column);
      else kept.set("cols", "");
    }
    if (sort) kept.set("sort", sort);
    history.replaceState(null, "", `?${kept}`);
  };
  const compare = el("button", { id: "compare", disabled: "", onclick: () => {
    const query = new URLSearchParams([...selected].map((id) => ["run", id]));
    location.href = `/compare?${query}`;
  } }, "Compare selected");
  const body = el("div", {});
  const count = el("span", { class: "note", id: "runs-count" });
  let offset = 0, total = 0;
  const go = (where) => () => { offset = where(); load().catch(showError); };
  const lastPage = () => Math.max(0, Math.floor((total - 1) / PAGE_ROWS) * PAGE_ROWS);
  const first = el("button", { "aria-label": "first page", onclick: go(() => 0) }, "« first");
  const prev = el("button", { "aria-label": "previous page", onclick: go(() => Math.max(0, offset - PAGE_ROWS)) }, "‹ previous");
  const next = el("button", { "aria-label": "next page", onclick: go(() => Math.min(lastPage(), offset + PAGE_ROWS)) }, "next ›");
  const last = el("button", { "aria-label": "last page", onclick: go(lastPage) }, "last »");
  const pager = el("div", { class: "bar pager" }, first, prev, count, next, last);

  // the column picker: the keys the matching runs have, or any path typed
  const known = el("datalist", { id: "column-choices" });
  const picked = el("input", { type: "text", list: "column-choices", "aria-label": "add column",
    placeholder: "add a column: config path or metric", class: "column-pick" });
  const choices = { config: [], summary: [], metrics: [] };
  const asColumn = (text) => {
    const typed = text.trim();
    if (!typed) return null;
    if (/^(config|summary|metric):./.test(typed) || FIXED.some(([, sortBy]) => sortBy === typed)) return typed;
    if (choices.metrics.includes(typed)) return `metric:${typed}`;
    if (choices.summary.includes(typed) && !choices.config.includes(typed)) return `summary:${typed}`;
    return `config:${typed}`;
  };
  const add = () => {
    const column = asColumn(picked.value);
    picked.value = "";
    if (!column || columns.includes(column)) return;
    columns = [...columns, column];
    keep();
    load().catch(showError);
  };
  picked.addEventListener("change", add);
  const loadChoices = async () => {
    const query = new URLSearchParams();
    for (const [name, input] of Object.entries(filters)) if (input.value) query.set(name, input.value);
    const answer = await api(`/api/columns?${query}`);
    Object.assign(choices, { config: answer.config, summary: answer.summary, metrics: answer.metrics });
    known.replaceChildren(...answer.config.map((k) => el("option", { value: `config:${k}` }, `config: ${k}`)),
      ...answer.metrics.map((k) => el("option", { value: `metric:${k}` }, `final ${k}`)),
      ...answer.summary.map((k) => el("option", { value: `summary:${k}` }, `summary: ${k}`)));
  };

  app.replaceChildren(el("h1", {}, "Runs"),
    el("div", { class: "bar" }, Object.values(filters), compare),
    el("div", { class: "bar" }, el("label", {}, "Columns", picked), known,
      el("span", { class: "note" }, "click a column's name to sort by it, again to reverse")),
    pager, body);

  const sortButton = (title, by) => {
    const arrow = sort === by ? " ▲" : sort === `-${by}` ? " ▼" : (!sort && by === "started_at") ? " ▼" : "";
    return el("button", { class: "sort", title: `sort by ${title}`, "data-sort": by, onclick: () => {
      sort = sort === by ? `-${by}` : by;
      offset = 0;
      keep();
      load().catch(showError);
    } }, title + arrow);
  };
  const headers = (numeric) => [
    el("th", {}, ""),
    ...FIXED.map(([title, by]) => el("th", {}, by ? sortButton(title, by) : title)),
    ...columns.map((column) => el("th", { "data-column": column, title: column, class: numeric.has(column) ? "num" : "" },
      sortButton(columnTitle(column), column),
      el("button", { class: "more", "aria-label": `remove column ${column}`, title: "remove this column", onclick: () => {
        columns = columns.filter((c) => c !== column);
        if (sort.replace(/^-/, "") === column) sort = "";
        keep();
        load().catch(showError);
      } }, "×"))),
  ];

  let asked = 0;  // an answer for a page or filter no longer wanted is dropped
  async function load() {
    const query = new URLSearchParams({ limit: String(PAGE_ROWS), offset: String(offset) });
    for (const [name, input] of Object.entries(filters)) if (input.value) query.set(name, input.value);
    for (const column of columns) query.append("cols", column);
    if (sort) query.set("sort", sort);
    const mine = ++asked;
    const answer = await api(`/api/runs?${query}`);
    if (mine !== asked) return;
    total = answer.total;
    if (offset > 0 && offset >= total) {  // runs went away (deleted, filtered): the last page
      offset = lastPage();
      return load();
    }
    const runs = answer.runs;
    count.textContent = runs.length
      ? `${thousands(offset + 1)}–${thousands(offset + runs.length)} of ${thousands(total)} runs`
      : "no runs";
    first.disabled = prev.disabled = offset === 0;
    next.disabled = last.disabled = offset + runs.length >= total;
    pager.dataset.offset = String(offset);
    body.dataset.sort = sort;
    // a column of numbers on this page is right-aligned, its header and missing values too
    const numeric = new Set(columns.filter((c) => runs.some((run) => typeof num(run.columns[c]) === "number")));
    body.replaceChildren(el("table", { class: "runs" },
      el("thead", {}, el("tr", {}, headers(numeric))),
      el("tbody", {}, runs.map((run) => {
        const box = el("input", { type: "checkbox", "aria-label": "select", onchange: () => {
          if (box.checked) selected.add(run.id); else selected.delete(run.id);
          compare.disabled = selected.size < 2;
        } });
        box.checked = selected.has(run.id);
        return el("tr", { "data-run": run.id }, el("td", {}, box), el("td", {},
          el("span", { class: "swatch", style: `background:${colorOf(run.color)}` }), runLink(run)),
          cell(run.project), cell(run.framework || "-"), el("td", {}, statusBadge(run.status)),
          cell(fmtTime(run.started_at)), cell(fmtDuration(run.duration)), cell(fmt(run.step), true),
          columns.map((column) => cell(fmt(num(run.columns[column])), numeric.has(column))));
      }))));
  }
  let timer = null;
  for (const input of Object.values(filters)) {
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        offset = 0;
        keep();
        load().catch(showError);
        loadChoices().catch(() => {});
      }, 250);
    });
  }
  setInterval(() => { if (!document.hidden) load().catch(() => {}); }, REFRESH_MS * 2);
  await Promise.all([load(), loadChoices()]);
}
