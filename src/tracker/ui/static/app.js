// The dashboard's entry point: picks the view for the address and runs it. Plain DOM, no
// framework; one module per view under views/, what they share in common.js, numbers.js,
// charts.js and panels.js.
// Every name and value from the store is put on the page as text (textContent,
// createTextNode, setAttribute); nothing from the store is ever parsed as HTML.
//
//   /                    views/workspace.js   every run of a project on every metric
//   /?view=table         views/runs.js        the runs table, to pick runs to compare
//   /runs/<id>           views/run.js         one run: charts, config, summary, events
//   /compare?run=..      views/compare.js     runs side by side
//   (run and compare)    views/tables.js      the tables a run logged, a step at a time
//   (run)                views/artifacts.js   what the run saved, its checkpoints as chart marks
//   (run)                views/lineage.js     the whole chain: what it came from → run → what came of it
//   /lineage?ref=REF     views/lineage.js     one version's own lineage: its makers, users, evaluations
//   /evals?project=P     views/evals.js       the leaderboard of checkpoints × tasks
//   /evals/diff?a=&b=    views/evals.js       two evaluations' samples side by side

import { showError } from "./common.js";
import { comparePage } from "./views/compare.js";
import { diffPage, evalsPage } from "./views/evals.js";
import { lineagePage } from "./views/lineage.js";
import { runPage } from "./views/run.js";
import { runsPage } from "./views/runs.js";
import { workspacePage } from "./views/workspace.js";

// -- routing --------------------------------------------------------------------------------------
function main() {
  const app = document.getElementById("app");
  const path = location.pathname;
  let page;
  if (path.startsWith("/runs/")) page = runPage(app, decodeURIComponent(path.slice("/runs/".length)));
  else if (path === "/compare") page = comparePage(app, new URLSearchParams(location.search).getAll("run"));
  else if (path === "/evals") page = evalsPage(app, new URLSearchParams(location.search));
  else if (path === "/evals/diff") page = diffPage(app, new URLSearchParams(location.search));
  else if (path === "/lineage") page = lineagePage(app, new URLSearchParams(location.search));
  else if (new URLSearchParams(location.search).get("view") === "table") page = runsPage(app);
  else page = workspacePage(app, new URLSearchParams(location.search));
  page.then(() => { document.body.dataset.ready = "1"; }, showError);
}

main();  // a module script runs once the document is parsed
