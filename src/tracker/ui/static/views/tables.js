import { api, el, num } from "../common.js";

// -- tables -----------------------------------------------------------------------------------
// What the model wrote: one step's rows of a table at a time, asked for when the step is
// picked (the server reads that step only). runs: [{id, name, tables: {key: steps}}]. With
// one run a second step can be shown beside the first; with several runs (compare), each
// run's rows at the picked step are side by side. Search and sort act on the rows shown.
const FOLD = 400;  // characters of a text shown before "… N more characters"

function cellText(value) {
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return value;  // "NaN", "Infinity": named by the API
  return String(value);
}

// Sort order of one column: numbers (NaN last) before texts, None at the end.
function compareCells(a, b) {
  const rank = (v) => (v === null || v === undefined ? 2 : typeof num(v) === "number" ? 0 : 1);
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) {
    const x = num(a), y = num(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) - Number.isNaN(y);
    return x - y;
  }
  const x = String(a), y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function tableCell(value) {
  const text = cellText(value);
  const numeric = typeof num(value) === "number";
  if (text.length <= FOLD) return el("td", numeric ? { class: "num" } : {}, text);
  const shown = el("span", {}, text.slice(0, FOLD));
  const more = el("button", { class: "more", onclick: () => { shown.textContent = text; more.remove(); } },
    `… ${text.length - FOLD} more characters`);
  return el("td", { class: "folded" }, shown, more);
}

function tableViewer(runs) {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.tables)))].sort();
  const state = { query: "", sort: null };  // sort: {column, down}
  const picker = el("select", { "aria-label": "table" }, keys.map((key) => el("option", { value: key }, key)));
  const slider = el("input", { type: "range", min: "0", value: "0", "aria-label": "step" });
  const prev = el("button", { "aria-label": "previous step", title: "previous step" }, "◀");
  const next = el("button", { "aria-label": "next step", title: "next step" }, "▶");
  const label = el("span", { class: "note" });
  const second = runs.length === 1 ? el("select", { "aria-label": "second step" }) : null;
  const search = el("input", { type: "search", placeholder: "search rows", "aria-label": "search rows" });
  const panes = el("div", { class: "panes" });
  const node = el("section", { class: "tables", "data-loading": "0" },
    el("div", { class: "bar" }, picker, prev, slider, next, label,
      second ? el("label", {}, "beside step", second) : null, search), panes);
  let shown = [];  // [{title, answer}] of the panes drawn
  let asked = 0;  // a late answer for a step no longer picked is dropped

  const steps = () => [...new Set(runs.flatMap((run) => run.tables[picker.value] || []))].sort((a, b) => a - b);
  const rowsOf = (run, step) => api(`/api/runs/${encodeURIComponent(run.id)}/table?` +
    new URLSearchParams({ key: picker.value, step: String(step) }));

  function drawPanes() {
    const query = state.query.toLowerCase();
    panes.replaceChildren(...shown.map(({ title, answer }) => {
      let rows = answer.rows;
      if (query) rows = rows.filter((row) => answer.columns.some((c) => cellText(row[c]).toLowerCase().includes(query)));
      if (state.sort) {
        const { column, down } = state.sort;
        rows = [...rows].sort((a, b) => (down ? -1 : 1) * compareCells(a[column], b[column]));
      }
      const count = !answer.rows.length ? "no rows at this step"
        : rows.length === answer.rows.length ? `${rows.length} rows` : `${rows.length} of ${answer.rows.length} rows`;
      const heads = answer.columns.map((column) => {
        const sorted = state.sort && state.sort.column === column;
        return el("th", { "aria-sort": sorted ? (state.sort.down ? "descending" : "ascending") : "none" },
          el("button", { class: "sort", onclick: () => {
            state.sort = { column, down: sorted && !state.sort.down };
            drawPanes();
          } }, column, sorted ? (state.sort.down ? " ▼" : " ▲") : ""));
      });
      return el("div", { class: "pane", "data-run": answer.run, "data-step": String(answer.step) },
        el("h3", {}, title),
        el("p", { class: "note" }, count + (answer.more ? " (the step's first rows only)" : "")),
        el("table", {}, el("thead", {}, el("tr", {}, heads)),
          el("tbody", {}, rows.map((row) => el("tr", {}, answer.columns.map((c) => tableCell(row[c])))))));
    }));
  }

  async function show() {
    const all = steps();
    const index = Math.min(Number(slider.value), all.length - 1);
    const step = all[index];
    label.textContent = `step ${step} (${index + 1} of ${all.length})`;
    prev.disabled = index <= 0;
    next.disabled = index >= all.length - 1;
    const wanted = runs.length > 1
      ? runs.map((run) => ({ run, step, title: run.name }))
      : [{ run: runs[0], step, title: `step ${step}` },
         ...(second.value === "" ? [] : [{ run: runs[0], step: Number(second.value), title: `step ${second.value}` }])];
    const mine = ++asked;
    node.dataset.loading = "1";
    const answers = await Promise.all(wanted.map(async ({ run, step: at, title }) =>
      ((run.tables[picker.value] || []).includes(at)
        ? { title, answer: await rowsOf(run, at) }
        : { title, answer: { run: run.id, step: at, columns: [], rows: [], more: false } })));
    if (mine !== asked) return;
    shown = answers;
    drawPanes();
    node.dataset.loading = "0";
  }

  function pickTable() {
    const all = steps();
    slider.max = String(all.length - 1);
    slider.value = String(all.length - 1);  // the last step first
    if (second) second.replaceChildren(el("option", { value: "" }, "none"), ...all.map((s) => el("option", { value: String(s) }, String(s))));
    state.sort = null;
    return show();
  }
  const move = (by) => { slider.value = String(Number(slider.value) + by); return show(); };
  picker.addEventListener("change", pickTable);
  slider.addEventListener("input", show);
  prev.addEventListener("click", () => move(-1));
  next.addEventListener("click", () => move(1));
  if (second) second.addEventListener("change", show);
  search.addEventListener("input", () => { state.query = search.value; drawPanes(); });
  return { node, ready: pickTable() };
}

export function tablesSection(runs) {
  if (!runs.some((run) => Object.keys(run.tables).length)) return { nodes: [], ready: Promise.resolve() };
  const viewer = tableViewer(runs);
  return { nodes: [el("h2", {}, "Tables"), viewer.node], ready: viewer.ready };
}
