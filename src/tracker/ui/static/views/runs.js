// The runs table (/?view=table): filters, a row per run, runs picked to compare.
// A page of PAGE_ROWS runs at a time (the server reads that page only and says how many
// runs match): a store of 10,000 runs never puts 10,000 rows in the page. Runs picked to
// compare stay picked across pages and filters.

import {
  REFRESH_MS, api, cell, el, filterInputs, fmt, fmtDuration, fmtTime, runLink, showError,
  statusBadge, table
} from "../common.js";

const PAGE_ROWS = 100;

const thousands = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

export async function runsPage(app) {
  const selected = new Set();
  const filters = filterInputs(new URLSearchParams());
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
  app.replaceChildren(el("h1", {}, "Runs"),
    el("div", { class: "bar" }, Object.values(filters), compare), pager, body);

  let asked = 0;  // an answer for a page or filter no longer wanted is dropped
  async function load() {
    const query = new URLSearchParams({ limit: String(PAGE_ROWS), offset: String(offset) });
    for (const [name, input] of Object.entries(filters)) if (input.value) query.set(name, input.value);
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
    body.replaceChildren(table(
      ["", "Name", "Project", "Framework", "Status", "Started", "Duration", "Step", "Train loss", "Eval loss"],
      runs.map((run) => {
        const box = el("input", { type: "checkbox", "aria-label": "select", onchange: () => {
          if (box.checked) selected.add(run.id); else selected.delete(run.id);
          compare.disabled = selected.size < 2;
        } });
        box.checked = selected.has(run.id);
        return el("tr", { "data-run": run.id }, el("td", {}, box), el("td", {}, runLink(run)),
          cell(run.project), cell(run.framework || "-"), el("td", {}, statusBadge(run.status)),
          cell(fmtTime(run.started_at)), cell(fmtDuration(run.duration)), cell(fmt(run.step), true),
          cell(fmt(run.train_loss), true), cell(fmt(run.eval_loss), true));
      })));
  }
  let timer = null;
  for (const input of Object.values(filters)) {
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { offset = 0; load().catch(showError); }, 250);
    });
  }
  setInterval(() => { if (!document.hidden) load().catch(() => {}); }, REFRESH_MS * 2);
  await load();
}
