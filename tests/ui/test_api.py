"""The dashboard's JSON API over real tracked runs: content, thinning, encoding, errors."""

from __future__ import annotations

import json
import math
import re
import struct
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from ui_kit import (
    HOSTILE_CONFIG,
    HOSTILE_METRIC,
    HOSTILE_NAME,
    LONG_POINTS,
    SPIKE_EVERY,
    Served,
)

from tracked_runs import track
from tracker import CustomTracker

pytest.importorskip("bokeh")


def _strict(body: bytes) -> Any:
    """Parse JSON refusing the NaN/Infinity extensions that JSON does not have."""

    def refuse(name: str) -> None:
        raise AssertionError(f"bare {name} in JSON")

    return json.loads(body, parse_constant=refuse)


def test_runs_lists_every_run_with_names_as_given(served: Served) -> None:
    """Hostile names come back byte for byte, newest first, as JSON."""
    reply = served.get("/api/runs")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    runs = _strict(reply.body)["runs"]
    assert [r["name"] for r in runs] == [HOSTILE_NAME, "beta", "alpha"]


def test_runs_filters_by_query(served: Served) -> None:
    """name= keeps runs whose name contains the text."""
    runs = _strict(served.get("/api/runs?name=alp").body)["runs"]
    assert [r["id"] for r in runs] == [served.runs["alpha"]]


def test_run_detail_keeps_hostile_config_intact(served: Served) -> None:
    """HTML, very long strings and unicode in keys and values round-trip exactly."""
    detail = _strict(served.get(f"/api/runs/{served.runs['hostile']}").body)
    assert detail["name"] == HOSTILE_NAME
    assert detail["config"] == HOSTILE_CONFIG
    assert set(detail["metrics"]) >= {HOSTILE_METRIC, "train/loss"}


def test_non_finite_values_are_named_strings(served: Served) -> None:
    """A metric's NaN/inf stats are "NaN"/"Infinity"; its curve leaves them out and counts them."""
    run_id = served.runs["hostile"]
    stats = _strict(served.get(f"/api/runs/{run_id}").body)["metrics"][HOSTILE_METRIC]
    assert (stats["count"], stats["last_value"], stats["max"]) == (4, 2.0, "Infinity")
    curve = _strict(served.get(f"/api/runs/{run_id}/curve?key=train/%3Ci%3Eodd%3C/i%3E").body)
    assert curve["key"] == HOSTILE_METRIC
    assert (curve["count"], curve["nonfinite"]) == (4, 2)
    assert curve["values"] == [1.0, 2.0]


def test_long_curves_are_drawn_at_the_width_on_the_server(served: Served) -> None:
    """width=W returns at most 2 points a pixel column, keeping the first, the last and
    every spike; the run page's endpoint and /api/curves (workspace, compare) answer alike."""
    alpha = served.runs["alpha"]
    reply = served.get(f"/api/runs/{alpha}/curve?key=train/long&width=250")
    curve = _strict(reply.body)
    assert curve["count"] == LONG_POINTS
    assert len(curve["steps"]) == len(curve["values"]) == len(curve["times"]) <= 502
    assert curve["steps"][0] == 0 and curve["steps"][-1] == LONG_POINTS - 1
    assert curve["steps"] == sorted(curve["steps"])
    points = zip(curve["steps"], curve["values"], strict=True)
    spikes = [step for step, value in points if value == 1.0]
    assert spikes == list(range(0, LONG_POINTS, SPIKE_EVERY))  # every 40th point would miss most
    (overlay,) = _strict(served.get(f"/api/curves?key=train/long&width=250&run={alpha}").body)[
        "curves"
    ]
    assert {k: overlay[k] for k in curve if k not in ("run", "key")} == {
        k: v for k, v in curve.items() if k not in ("run", "key")
    }


def test_short_curves_come_back_whole(served: Served) -> None:
    """A curve of at most 2 points a pixel column (width=) is drawn whole."""
    curve = _strict(served.get(f"/api/runs/{served.runs['beta']}/curve?key=train/loss").body)
    assert curve["steps"] == list(range(20))
    assert curve["values"][0] == 2.5


def test_compare_has_config_diff_metrics_and_keys(served: Served) -> None:
    """Two runs: differing config keys, final/best values, each run's metric names."""
    alpha, beta = served.runs["alpha"], served.runs["beta"]
    data = _strict(served.get(f"/api/compare?run={alpha}&run=beta").body)
    assert [r["id"] for r in data["runs"]] == [alpha, beta]
    assert data["config"] == [
        {"key": "lr", "values": [0.1, 0.2]},
        {"key": "model.layers", "values": [2, 4]},
    ]
    assert "train/long" in data["runs"][0]["keys"]
    assert "train/long" not in data["runs"][1]["keys"]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/runs/nosuchrun", 404, "no run has the id, id prefix or name 'nosuchrun'"),
        ("/api/runs/alpha/curve", 400, "key= names the metric"),
        ("/api/runs/alpha/curve?key=nope", 404, "has no metric 'nope'"),
        ("/api/runs/alpha/curve?key=train/loss&width=many", 400, "width must be an integer"),
        ("/api/runs/alpha/curve?key=train/loss&x=nope", 404, "has no metric 'nope'"),
        ("/api/runs?status=sleeping", 400, "status must be one of"),
        ("/api/compare?run=alpha", 400, "name at least two runs"),
        ("/api/nothing", 404, "no API endpoint /api/nothing"),
    ],
)
def test_errors_are_json_with_a_status(
    served: Served, path: str, status: int, message: str
) -> None:
    """Bad requests get a JSON error and the matching HTTP status."""
    reply = served.get(path)
    assert reply.status == status
    assert message in _strict(reply.body)["error"]


def test_an_ambiguous_run_is_409_with_candidates(served: Served) -> None:
    """A name two runs share is answered 409 with both as candidates."""
    first, second = track("twin"), track("twin")
    reply = served.get("/api/runs/twin")
    assert reply.status == 409
    assert [c["id"] for c in _strict(reply.body)["candidates"]] == [second, first]


def test_pages_and_assets_are_served_by_the_app(served: Served) -> None:
    """Pages are the app shell; BokehJS comes from the installed bokeh package."""
    from importlib import resources

    for page in ("/", f"/runs/{served.runs['alpha']}", "/compare?run=a&run=b"):
        reply = served.get(page)
        assert reply.status == 200
        assert re.search(
            rb'<script type="module" src="/static/app.js\?v=[0-9a-f]{16}"></script>', reply.body
        )
        assert "script-src 'self'" in reply.headers["Content-Security-Policy"]
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
    shipped = resources.files("bokeh").joinpath("server", "static", "js")
    for name in ("bokeh.min.js", "bokeh-api.min.js"):
        js = served.get(f"/static/{name}")
        assert js.status == 200
        assert js.headers["Content-Type"].startswith("text/javascript")
        assert "immutable" in js.headers["Cache-Control"]
        assert js.body == shipped.joinpath(name).read_bytes()
    assert served.get("/static/../server.py").status == 404
    assert served.get("/nowhere").status == 404


def test_every_module_the_page_needs_is_served_as_javascript(served: Served) -> None:
    """Each view is a module of its own: every import of the page's modules, followed from
    app.js, is preloaded by the page and served as JavaScript, cached for good."""
    page = served.get("/").body.decode()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', page))
    entry = re.search(r'<script type="module" src="([^"]+)">', page)
    assert entry is not None
    seen: set[str] = set()
    todo = [entry.group(1)]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        reply = served.get(url)
        assert reply.status == 200, url
        assert reply.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert "immutable" in reply.headers["Cache-Control"]
        folder = url[: url.rindex("/") + 1]
        for spec in re.findall(r'\bfrom\s*"([^"]+)"', reply.body.decode()):
            assert re.fullmatch(r"\.\.?/[\w/.-]+\.js\?v=[0-9a-f]{16}", spec), spec
            todo.append(urljoin(folder, spec))
    paths = {urlsplit(url).path for url in seen}
    assert {
        "/static/app.js",
        "/static/common.js",
        "/static/charts.js",
        *(f"/static/views/{view}.js" for view in ("workspace", "runs", "run", "compare", "tables")),
    } <= paths
    assert seen - {entry.group(1)} == preloaded


def test_requests_for_another_host_name_are_refused(served: Served) -> None:
    """A Host header that is not a loopback name (DNS rebinding) gets 403."""
    assert served.get("/api/runs", {"Host": "attacker.example:8765"}).status == 403
    assert served.get("/api/runs", {"Host": "localhost:8765"}).status == 200


def test_system_samples_sharing_a_step_are_all_drawn(tracker_dir: Any) -> None:
    """Clock-sampled system/ points keep every sample even when several share a step."""
    from ui_kit import serve

    from tracker import CustomTracker

    with CustomTracker(project="sys") as run:
        run.log_metrics({"train/loss": 1.0}, step=5)
        for percent in (10.0, 20.0, 30.0):
            run.log_metrics({"system/cpu/percent": percent}, step=5)
    with serve() as url:
        served = Served(url, {})
        cpu = _strict(served.get(f"/api/runs/{run.run_id}/curve?key=system/cpu/percent").body)
        loss = _strict(served.get(f"/api/runs/{run.run_id}/curve?key=train/loss").body)
    assert cpu["values"] == [10.0, 20.0, 30.0]
    assert loss["values"] == [1.0]


def test_workspace_has_every_run_of_the_newest_project(served: Served) -> None:
    """/api/workspace: the newest run's project by default, each run's metric names and
    one-value metrics, and every event with its run, oldest first; filters as /api/runs."""
    track("other-project", project="elsewhere")
    space = _strict(served.get("/api/workspace").body)
    assert space["project"] == "elsewhere"
    space = _strict(served.get("/api/workspace?project=demo").body)
    assert {r["name"] for r in space["runs"]} == {"alpha", "beta", HOSTILE_NAME}
    alpha = next(r for r in space["runs"] if r["name"] == "alpha")
    assert "train/long" in alpha["keys"] and alpha["constants"] == {"train/learning_rate": 1e-3}
    kinds = [(e["run"], e["kind"]) for e in space["events"]]
    assert (served.runs["alpha"], "checkpoint") in kinds
    assert [e["at"] for e in space["events"]] == sorted(e["at"] for e in space["events"])
    only = _strict(served.get("/api/workspace?project=demo&name=bet").body)["runs"]
    assert [r["name"] for r in only] == ["beta"]


def test_curves_gives_one_metric_of_several_runs(served: Served) -> None:
    """/api/curves: the metric of each named run that has it, each drawn at the width
    asked (at most 2 points a pixel column, its highest and lowest points kept), one
    request for all."""
    alpha, beta, hostile = (served.runs[n] for n in ("alpha", "beta", "hostile"))
    query = f"key=train/long&width=25&run={alpha}&run={beta}"
    answer = _strict(served.get(f"/api/curves?{query}").body)
    (long,) = answer["curves"]  # beta has no train/long
    assert long["run"] == alpha and long["count"] == LONG_POINTS
    assert len(long["steps"]) <= 52 and max(long["values"]) == 1.0 and min(long["values"]) == 0.0
    both = _strict(served.get(f"/api/curves?key=train/loss&run={alpha}&run={hostile}").body)
    assert [c["run"] for c in both["curves"]] == [alpha, hostile]
    assert served.get(f"/api/curves?run={alpha}").status == 400
    assert served.get("/api/curves?key=train/loss").status == 400
    assert served.get("/api/curves?key=train/loss&run=nosuchrun").status == 404


def _unpacked(body: bytes) -> dict[str, Any]:
    """/api/curves?format=binary read as its layout says (`tracker.ui.wire`): the header,
    then each curve's fields as little-endian float64 arrays, into the JSON form."""
    (length,) = struct.unpack_from("<I", body)
    head = json.loads(body[4 : 4 + length])
    assert (4 + length) % 8 == 0
    at = 4 + length
    for curve in head["curves"]:
        points = curve.pop("points")
        for field in head["fields"]:
            curve[field] = list(struct.unpack_from(f"<{points}d", body, at))
            at += 8 * points
        curve["steps"] = [int(step) for step in curve["steps"]]
    assert at == len(body)
    return {"key": head["key"], "curves": head["curves"]}


@pytest.mark.parametrize(
    "extra", ["", "&times=0", "&x=train/num_input_tokens_seen", "&key=train/nothing"]
)
def test_curves_as_bytes_are_the_json_answer(served: Served, extra: str) -> None:
    """format=binary: the same curves (runs, counts, every number exactly) as float64
    arrays after a JSON header, with and without times, along a metric, and with no
    curve at all; an unknown format is refused."""
    run = CustomTracker("demo", "tokens").start()
    for step in range(3_000):
        run.log_metrics({"train/long": math.sin(step / 7) / 3, "train/loss": 1 / (step + 1)}, step)
        run.log_metrics({"train/num_input_tokens_seen": step * 512.0}, step=step)
    run.finish()
    runs = "".join(f"&run={r}" for r in (run.run_id, served.runs["alpha"], served.runs["beta"]))
    query = f"/api/curves?key=train/long&width=40{runs}{extra}"
    packed = served.get(f"{query}&format=binary")
    assert packed.status == 200 and packed.headers["Content-Type"] == "application/octet-stream"
    assert _unpacked(packed.body) == _strict(served.get(query).body)
    assert _strict(served.get(f"{query}&format=json").body) == _strict(served.get(query).body)
    refused = served.get(f"{query}&format=csv")
    assert refused.status == 400 and "format=" in _strict(refused.body)["error"]


def test_curves_see_new_points_of_a_running_run(served: Served) -> None:
    """A curve the server kept is not served stale: a new point makes a new answer."""
    run = CustomTracker("demo", "growing").start()
    run.log_metrics({"train/loss": 1.0}, step=0)
    run.log_metrics({"train/loss": 0.5}, step=1)
    run.flush()
    url = f"/api/curves?key=train/loss&run={run.run_id}"
    assert _strict(served.get(url).body)["curves"][0]["steps"] == [0, 1]
    run.log_metrics({"train/loss": 0.25}, step=2)
    run.flush()
    assert _strict(served.get(url).body)["curves"][0]["steps"] == [0, 1, 2]
    run.finish()


def test_a_metric_growing_with_the_step_is_an_x_axis(served: Served) -> None:
    """x_keys lists the metrics that grow with the step (a name that says so, ending at
    its highest); x=METRIC gives each point's xs, interpolated in step, and leaves out the
    points outside that metric's steps, alike on both endpoints."""
    run = CustomTracker("tokens", "packed").start()
    for step in range(10):
        run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    for step in (2, 4, 8):  # every other step, from step 2: steps 0, 1 and 9 have no x
        run.log_metrics({"train/num_input_tokens_seen": step * 100.0}, step=step)
    run.log_metrics({"train/epoch": 2.0}, step=0)  # one point: not an axis
    run.log_metrics({"train/epoch": 1.0}, step=1)
    run.finish()
    space = _strict(served.get("/api/workspace?project=tokens").body)
    assert space["x_keys"] == ["train/num_input_tokens_seen"]
    query = f"key=train/loss&x=train/num_input_tokens_seen&width=100&run={run.run_id}"
    (curve,) = _strict(served.get(f"/api/curves?{query}").body)["curves"]
    assert curve["steps"] == [2, 3, 4, 5, 6, 7, 8]
    assert curve["xs"] == [200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0]
    assert curve["values"][0] == 1.0 / 3
    page = _strict(served.get(f"/api/runs/{run.run_id}/curve?{query}").body)
    assert (page["steps"], page["xs"]) == (curve["steps"], curve["xs"])
    assert "xs" not in _strict(served.get(f"/api/runs/{run.run_id}/curve?key=train/loss").body)


def test_curves_leave_out_times_when_asked(served: Served) -> None:
    """times=0 (a chart whose x is not the time): the same points without their times."""
    alpha = served.runs["alpha"]
    query = f"key=train/long&width=25&run={alpha}"
    (whole,) = _strict(served.get(f"/api/curves?{query}").body)["curves"]
    (lean,) = _strict(served.get(f"/api/curves?{query}&times=0").body)["curves"]
    assert "times" not in lean and len(whole["times"]) == len(whole["steps"])
    assert {**lean, "times": whole["times"]} == whole
    one = _strict(served.get(f"/api/runs/{alpha}/curve?key=train/long&times=0").body)
    assert "times" not in one and one["steps"]
