"""Alerts of a run: posted to webhooks the test starts on 127.0.0.1, recorded as events."""

from __future__ import annotations

import json
import logging
import math
import socket
import time
from pathlib import Path

import pytest
from alert_kit import Receiver

from tracker import CustomTracker, TrackerSettings
from tracker.alerts.webhooks import Webhook, mask
from tracker.store import Store
from tracker.values import REDACTED

SECRET = "T0-B0-s3cr3tpath"


def _alerts(store: Store, run_id: str) -> list[dict[str, object]]:
    return [e.payload for e in store.events(run_id) if e.kind == "alert"]


def _hooks(monkeypatch: pytest.MonkeyPatch, *urls: str, retries: int = 3) -> None:
    monkeypatch.setenv("TRACKER_ALERT_WEBHOOKS", ",".join(urls))
    monkeypatch.setenv("TRACKER_ALERT_RETRIES", str(retries))


def test_alert_goes_to_every_webhook_in_its_form_and_is_recorded(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tracker_dir: Path
) -> None:
    """run.alert posts the generic JSON and Slack's form, and an alert event lands on the run."""
    _hooks(monkeypatch, f"{receiver.url}/json/{SECRET}", f"slack:{receiver.url}/slack/{SECRET}")
    with CustomTracker(project="demo", run_name="lr-1") as run:
        run.log_metrics({"train/loss": 2.0}, step=1200)
        run.alert("loss is <high>", "step 1200, lr 3e-4", level="warn")
    (generic,) = receiver.wait_for(1, f"/json/{SECRET}")
    assert generic["title"] == "loss is <high>" and generic["message"] == "step 1200, lr 3e-4"
    assert generic["level"] == "warn" and generic["step"] == 1200
    assert generic["run"] == {"id": run.run_id, "name": "lr-1", "project": "demo"}
    (slack,) = receiver.wait_for(1, f"/slack/{SECRET}")
    (attachment,) = slack["attachments"]
    assert attachment["title"] == "loss is &lt;high&gt;" and attachment["color"]
    assert "demo/lr-1" in slack["text"]
    (event,) = _alerts(store, run.run_id)
    assert event == {
        "title": "loss is <high>",
        "text": "step 1200, lr 3e-4",
        "level": "warn",
        "reason": "user",
        "key": "user:loss is <high>",
    }
    stored = b"".join(p.read_bytes() for p in tracker_dir.rglob("*") if p.is_file())
    assert SECRET.encode() not in stored  # a webhook URL is never recorded


def test_failed_and_interrupted_runs_alert(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A with block ended by an exception alerts error; by Ctrl-C, warn; a normal end, none."""
    _hooks(monkeypatch, receiver.url)
    with pytest.raises(ValueError), CustomTracker(project="p", run_name="boom") as failed:
        raise ValueError("bad batch")
    with pytest.raises(KeyboardInterrupt), CustomTracker(project="p", run_name="stop") as stopped:
        raise KeyboardInterrupt
    with CustomTracker(project="p", run_name="fine") as fine:
        pass
    posts = receiver.wait_for(2)
    assert sorted((p["title"], p["level"], p["reason"]) for p in posts) == [
        ("run boom failed", "error", "failed"),
        ("run stop interrupted", "warn", "interrupted"),
    ]
    assert next(p for p in posts if p["reason"] == "failed")["message"] == "ValueError: bad batch"
    assert [a["reason"] for a in _alerts(store, failed.run_id)] == ["failed"]
    assert [a["reason"] for a in _alerts(store, stopped.run_id)] == ["interrupted"]
    assert _alerts(store, fine.run_id) == []


def test_a_nan_loss_every_step_is_one_alert(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NaN in train/loss at every step raises one alert; inf in eval/loss another; other
    metrics (accuracy, system/) raise none, and every point is still stored."""
    _hooks(monkeypatch, receiver.url)
    with CustomTracker(project="p") as run:
        for step in range(300):
            run.log_metrics(
                {
                    "train/loss": math.nan if step >= 10 else 1.0,
                    "train/accuracy": math.nan,
                    "system/gpu/0/power_w": math.nan,
                },
                step=step,
            )
            if step % 50 == 0:
                run.flush()  # several batches, each with NaNs
        run.log_metrics({"eval/loss": math.inf}, step=300)
    alerts = _alerts(store, run.run_id)
    assert sorted(a["title"] for a in alerts) == ["eval/loss is inf", "train/loss is NaN"]
    nan = next(
        e for e in store.events(run.run_id) if e.payload.get("key") == "nonfinite:train/loss"
    )
    assert nan.step == 10 and nan.payload["level"] == "error"
    assert len(receiver.wait_for(2)) == 2
    assert len(store.history(run.run_id, "train/loss")) == 300


def test_the_same_alert_again_is_rate_limited(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert raised every step is raised once within TRACKER_ALERT_MIN_INTERVAL."""
    _hooks(monkeypatch, receiver.url)
    with CustomTracker(project="p") as run:
        for step in range(1000):
            run.log_metrics({"train/loss": 1.0}, step=step)
            run.alert("grad norm spiked", f"step {step}", level="warn")
        run.alert("another title")
    assert [a["title"] for a in _alerts(store, run.run_id)] == ["grad norm spiked", "another title"]
    assert len(receiver.wait_for(2)) == 2


def test_a_webhook_that_is_down_leaves_the_run_unaffected(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens at the webhook: the run logs, finishes and records its alert; one
    warning names the webhook by its host only."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _hooks(monkeypatch, f"http://127.0.0.1:{port}/{SECRET}", retries=1)
    caplog.set_level(logging.WARNING, logger="tracker")
    with CustomTracker(project="p") as run:
        for step in range(100):
            run.log_metrics({"train/loss": 1.0}, step=step)
        run.alert("nobody hears this", level="error")
        for step in range(100, 200):
            run.log_metrics({"train/loss": 1.0}, step=step)
    report = run.finish()
    assert report is None  # already finished by the with block, without raising
    assert store.get_run(run.run_id).status == "finished"
    assert len(store.history(run.run_id, "train/loss")) == 200
    assert [a["title"] for a in _alerts(store, run.run_id)] == ["nobody hears this"]
    assert f"http://127.0.0.1:{port}/***" in caplog.text
    assert SECRET not in caplog.text


def test_a_post_answered_5xx_is_retried_and_taken_once(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """503 twice, then 200: the alert is posted three times and taken once."""
    _hooks(monkeypatch, receiver.url, retries=3)
    receiver.answers = [503, 503]
    with CustomTracker(project="p") as run:
        run.alert("try again")
    assert len(receiver.wait_for(1)) == 1
    assert len(receiver.posts) == 3


def test_a_post_that_timed_out_is_not_repeated(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver slower than TRACKER_ALERT_TIMEOUT may have taken the post: it is not sent
    again (at most once)."""
    _hooks(monkeypatch, receiver.url, retries=3)
    monkeypatch.setenv("TRACKER_ALERT_TIMEOUT", "0.3")
    receiver.delay = 2.0
    with CustomTracker(project="p") as run:
        run.alert("slow receiver")
    assert len(receiver.wait_for(1)) == 1  # it arrived (finish waited only 0.3 s)
    time.sleep(2.0)  # a retry would come 0.3 s + 0.5 s after it
    assert len(receiver.posts) == 1


def test_webhook_urls_are_masked_and_checked() -> None:
    """A webhook shows only its host; a URL that is not http(s) raises, masked."""
    hook = Webhook.parse(f"slack:https://hooks.example/{SECRET}")
    assert hook.form == "slack" and hook.shown == "https://hooks.example/***"
    assert SECRET not in repr(hook)
    assert SECRET not in repr(TrackerSettings(alert_webhooks=[hook.url]))
    assert mask("http://user:pw@h:8080/x?y=1") == "http://h:8080/***"
    with pytest.raises(ValueError, match="not an http") as raised:
        Webhook.parse(f"ftp://hooks.example/{SECRET}")
    assert SECRET not in str(raised.value)


def test_alert_levels_take_logging_names_and_a_bad_call_never_raises(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Python logging's level names and numbers (and W&B's WARN) mean our levels, in any
    case; an unknown level is one warning and info; an empty title is 'alert'."""
    caplog.set_level(logging.WARNING, logger="tracker")
    given: list[object] = ["warning", "WARN", "Critical", "fatal", logging.ERROR, "debug"]
    given += ["bogus", "bogus", None]
    with CustomTracker(project="p") as run:
        for i, level in enumerate(given):
            run.alert(f"alert {i}", level=level)  # type: ignore[arg-type]
        run.alert("", 7, level=7)  # type: ignore[arg-type]
    levels = [a["level"] for a in _alerts(store, run.run_id)]
    assert levels == ["warn", "warn", "error", "error", "error", *["info"] * 5]
    assert [a["title"] for a in _alerts(store, run.run_id)][-1] == "alert"
    assert _alerts(store, run.run_id)[-1]["text"] == "7"
    assert caplog.text.count("alert level 'bogus' is not info, warn or error") == 1
    assert "alert level None is not" in caplog.text and "given no title" in caplog.text


def test_alert_title_and_text_are_redacted_in_the_store_and_the_posts(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tracker_dir: Path
) -> None:
    """A token or a password in an alert's title or text (or in the exception that failed
    the run) reaches neither the store's file nor a webhook."""
    _hooks(monkeypatch, f"{receiver.url}/json", f"slack:{receiver.url}/slack")
    planted = ["abcdefghijklmnopqrstuvwxyzAL24", "ALPW25", "abcdefghijklmnopqrstuvwxyzEX26"]
    run = CustomTracker(project="p").start()
    run.alert("leak hf_abcdefghijklmnopqrstuvwxyzAL24", "password=ALPW25", level="error")
    run.finish("failed", "RuntimeError: the hub said no to hf_abcdefghijklmnopqrstuvwxyzEX26")
    alerts = _alerts(store, run.run_id)
    assert [a["reason"] for a in alerts] == ["user", "failed"]
    assert alerts[0]["title"] == f"leak hf_{REDACTED}" and REDACTED in str(alerts[0]["text"])
    posts = receiver.wait_for(2, "/json") + receiver.wait_for(2, "/slack")
    assert len(posts) == 4
    stored = b"".join(p.read_bytes() for p in tracker_dir.rglob("*") if p.is_file())
    assert [s for s in planted if s.encode() in stored] == []
    assert [s for s in planted if s in json.dumps(posts)] == []


def test_a_webhook_given_up_says_which_and_why(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A webhook still refusing when finish() stops waiting: the warning names it (masked)
    and the last failure, not only that alerts were given up."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _hooks(monkeypatch, f"http://127.0.0.1:{port}/{SECRET}", retries=3)
    monkeypatch.setenv("TRACKER_ALERT_TIMEOUT", "1")  # the retries need 3.5 s
    caplog.set_level(logging.WARNING, logger="tracker")
    with CustomTracker(project="p") as run:
        run.alert("nobody hears this", level="error")
    (given_up,) = [r.getMessage() for r in caplog.records if "given up" in r.getMessage()]
    assert f"1 alert to http://127.0.0.1:{port}/***" in given_up
    assert "the last try failed: ConnectionRefusedError" in given_up
    assert SECRET not in caplog.text
    assert [a["title"] for a in _alerts(store, run.run_id)] == ["nobody hears this"]
