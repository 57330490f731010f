// The runs table (/?view=table): filters, a row per run, runs picked to compare.

import {
  REFRESH_MS, api, cell, el, filterInputs, fmt, fmtDuration, fmtTime, runLink, showError,
  statusBadge, table
} from "../common.js";

// -- runs page -----------------------------------------------------------------------------
export async function runsPage(app) {
  const selected = new Set();
  const filters = filterInputs(new URLSearchParams());
  const compare = el("button", { id: "compare", disabled: "", onclick: () => {
    const query = new URLSearchParams([...selected].map((id) => ["run", id]));
    location.href = `/compare?${query}`;
  } }, "Compare selected");
  const body = el("div", {});
  const count = el("span", { class: "note" });
  app.replaceChildren(el("h1", {}, "Runs"),
    el("div", { class: "bar" }, Object.values(filters), compare, count), body);

  async function load() {
    const query = new URLSearchParams();
    for (const [name, input] of Object.entries(filters)) if (input.value) query.set(name, input.value);
    const { runs } = await api(`/api/runs?${query}`);
    count.textContent = `${runs.length} runs`;
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
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load().catch(showError), 250); });
  }
  setInterval(() => { if (!document.hidden) load().catch(() => {}); }, REFRESH_MS * 2);
  await load();
}
