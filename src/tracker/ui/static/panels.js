// Finding a chart among many (W&B's panel search): a search box over metric names (text,
// or /regex/) keeps the charts that match; a chart can be pinned (shown first, under
// "pinned") or hidden (a "hidden (N)" button lists them, to bring them back). The search
// is kept in the page's address (search=); pins and hidden charts are kept per project in
// the browser's localStorage, so every page of the project (workspace, run, compare)
// shows the same.

import { el, keepInAddress } from "./common.js";

// What a search matches: /regex/ (case-insensitive) or text contained in the key (any
// case); an invalid regex is taken as text.
export function searchMatcher(text) {
  const query = (text || "").trim();
  const regex = /^\/(.+)\/([a-z]*)$/.exec(query);
  if (regex) {
    try {
      const pattern = new RegExp(regex[1], regex[2].includes("i") ? regex[2] : `${regex[2]}i`);
      return { valid: true, test: (key) => pattern.test(key) };
    } catch (error) { /* not a regex: searched as text */ }
  }
  const lower = query.toLowerCase();
  return { valid: !regex, test: (key) => key.toLowerCase().includes(lower) };
}

function stored(scope) {
  try {
    const found = JSON.parse(localStorage.getItem(`tracker.panels.${scope}`) || "{}");
    return { pinned: found.pinned || [], hidden: found.hidden || [] };
  } catch (error) {
    return { pinned: [], hidden: [] };  // storage refused (private mode) or not JSON
  }
}

function store(scope, state) {
  try {
    localStorage.setItem(`tracker.panels.${scope}`, JSON.stringify(state));
  } catch (error) { /* storage refused: the choice holds until the page is left */ }
}

// The search bar over `parts` (chartSections' sections, each chart in a .chart-box) for
// the charts of `scope` (a project); {node, pinned}: the bar, and the section of pinned
// charts to put before the others.
export function chartPanels(parts, scope) {
  const state = stored(scope);
  const boxes = parts.flatMap((part) => [...part.querySelectorAll(".chart-box")]);
  const home = new Map(boxes.map((box) => [box.dataset.key, [box.parentNode, boxes.indexOf(box)]]));
  const pinnedGrid = el("div", { class: "grid" });
  const pinnedHead = el("h2", {}, "pinned");  // on the page only while a chart is pinned
  const pinned = el("section", { class: "charts pinned", "data-section": "pinned" }, pinnedGrid);
  const search = el("input", { type: "search", placeholder: "search charts (text or /regex/)",
    "aria-label": "search charts", value: new URLSearchParams(location.search).get("search") || "",
    oninput: () => { keepInAddress("search", search.value.trim()); apply(); } });
  const count = el("span", { class: "note", "aria-live": "polite" });
  const hiddenList = el("ul", { class: "hidden-charts", hidden: "" });
  const hiddenButton = el("button", { "aria-expanded": "false", onclick: () => {
    hiddenList.hidden = !hiddenList.hidden;
    hiddenButton.setAttribute("aria-expanded", String(!hiddenList.hidden));
  } });
  const save = () => { store(scope, state); apply(); };
  const toggle = (list, key) => {
    const at = state[list].indexOf(key);
    if (at < 0) state[list].push(key); else state[list].splice(at, 1);
  };
  for (const box of boxes) {
    const key = box.dataset.key;
    box.prepend(el("div", { class: "chart-head" },
      el("button", { class: "pin", title: "pin: show this chart first on every page of the project",
        "aria-label": `pin ${key}`, onclick: () => { toggle("pinned", key); save(); } }, "pin"),
      el("button", { class: "hide", title: "hide this chart (hidden (N) brings it back)",
        "aria-label": `hide ${key}`, onclick: () => { toggle("hidden", key); save(); } }, "hide")));
  }

  function apply() {
    const match = searchMatcher(search.value);
    search.classList.toggle("invalid", !match.valid);
    search.title = match.valid ? "" : "not a valid regular expression: searched as text";
    let shown = 0;
    for (const box of boxes) {
      const key = box.dataset.key, isPinned = state.pinned.includes(key);
      const [grid] = home.get(key);
      box.classList.toggle("is-pinned", isPinned);
      box.querySelector("button.pin").textContent = isPinned ? "unpin" : "pin";
      box.hidden = state.hidden.includes(key) || !match.test(key);
      if (!box.hidden) shown++;
      if (!isPinned && box.parentNode !== grid) grid.append(box);
    }
    // pinned charts in the order pinned; the others in their sections' order
    for (const key of state.pinned) {
      const box = boxes.find((b) => b.dataset.key === key);
      if (box) pinnedGrid.append(box);
    }
    for (const grid of new Set([...home.values()].map(([g]) => g))) {
      [...grid.children].sort((a, b) => home.get(a.dataset.key)[1] - home.get(b.dataset.key)[1])
        .forEach((box) => grid.append(box));
    }
    if (pinnedGrid.children.length) pinned.prepend(pinnedHead); else pinnedHead.remove();
    for (const section of [pinned, ...parts]) {
      section.hidden = ![...section.querySelectorAll(".chart-box")].some((box) => !box.hidden);
    }
    const hidden = state.hidden.filter((key) => home.has(key));
    hiddenButton.textContent = `hidden (${hidden.length})`;
    hiddenButton.hidden = !hidden.length;
    if (!hidden.length) hiddenList.hidden = true;
    hiddenList.replaceChildren(...hidden.map((key) => el("li", {}, key, " ",
      el("button", { "aria-label": `show ${key}`, onclick: () => { toggle("hidden", key); save(); } }, "show"))));
    count.textContent = match.test("") && !search.value.trim() ? "" : `${shown} of ${boxes.length} charts`;
  }
  apply();
  return { node: el("div", { class: "bar panels-bar" }, search, count, hiddenButton, hiddenList), pinned };
}
