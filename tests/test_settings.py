"""`TrackerSettings` reads TRACKER_ variables and the launcher's, checks them, and says what
is wrong by the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.settings import SettingsError, TrackerSettings


def test_arguments_win_over_the_environment_which_wins_over_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """TRACKER_ variables are converted to each setting's type; an argument wins over them."""
    monkeypatch.setenv("TRACKER_DIR", str(tmp_path))
    monkeypatch.setenv("TRACKER_FLUSH_INTERVAL", "0.25")
    monkeypatch.setenv("TRACKER_DISABLED", "yes")
    monkeypatch.setenv("TRACKER_MAX_PENDING", "5000")
    monkeypatch.setenv("TRACKER_PROJECT", "from-env")
    settings = TrackerSettings(project="given", max_pending=2000)
    assert settings.dir == tmp_path and settings.flush_interval == 0.25
    assert settings.disabled is True and settings.max_pending == 2000
    assert settings.project == "given" and settings.heartbeat_interval == 10.0
    assert {"dir", "flush_interval", "project"} <= settings.fields_set
    assert "heartbeat_interval" not in settings.fields_set
    assert settings.store_uris == [f"sqlite:///{tmp_path / 'tracker.db'}"]


def test_lists_are_comma_separated_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """TRACKER_URI, _TAGS and _ALERT_WEBHOOKS split at commas; TRACKER_REDACT_KEYS and
    _PATTERNS are JSON lists (a regular expression may hold a comma)."""
    monkeypatch.setenv("TRACKER_URI", "sqlite:///a.db, memory://b")
    monkeypatch.setenv("TRACKER_TAGS", "sft,, lora ")
    monkeypatch.setenv("TRACKER_REDACT_PATTERNS", '["acme-[0-9]{2,4}"]')
    settings = TrackerSettings()
    assert settings.uri == ["sqlite:///a.db", "memory://b"]
    assert settings.tags == ["sft", "lora"] and settings.redact_patterns == ["acme-[0-9]{2,4}"]
    assert TrackerSettings(tags="x,y").tags == ["x", "y"]


def test_the_launchers_variables_are_read_under_their_own_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RANK, LOCAL_RANK, WORLD_SIZE (or MPI's, SLURM's) set the process's place;
    TRACKER_RANK overrides RANK, and an argument overrides both."""
    monkeypatch.setenv("SLURM_PROCID", "3")
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    settings = TrackerSettings()
    assert (settings.rank, settings.local_rank, settings.world_size) == (3, 1, 8)
    assert settings.cuda_visible_devices == "2,3" and settings.local_world_size == 1
    monkeypatch.setenv("RANK", "2")
    assert TrackerSettings().rank == 2
    monkeypatch.setenv("TRACKER_RANK", "0")
    assert TrackerSettings().rank == 0
    assert TrackerSettings(rank=5).rank == 5


def test_a_bad_value_names_its_variable_the_value_and_the_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every invalid value is listed at once, by the variable it came from (or the
    argument), with what it must be."""
    monkeypatch.setenv("TRACKER_FLUSH_INTERVAL", "0.001")
    monkeypatch.setenv("RANK", "first")
    monkeypatch.setenv("TRACKER_DISABLED", "maybe")
    with pytest.raises(SettingsError) as raised:
        TrackerSettings(alert_retries=11)
    message = str(raised.value)
    assert message.startswith("4 invalid settings")
    assert "TRACKER_FLUSH_INTERVAL='0.001': must be at least 0.01" in message
    assert "RANK='first': must be a whole number" in message
    assert "TRACKER_DISABLED='maybe': must be 1 or 0" in message
    assert "alert_retries=11: must be at most 10" in message
    assert isinstance(raised.value, ValueError)


def test_a_bad_json_list_and_a_bad_pattern_say_how_to_write_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TRACKER_REDACT_KEYS that is not JSON, or not a regular expression, says so."""
    monkeypatch.setenv("TRACKER_REDACT_KEYS", "^my_pass$")
    with pytest.raises(SettingsError, match=r"TRACKER_REDACT_KEYS='\^my_pass\$': must be a JSON"):
        TrackerSettings()
    monkeypatch.setenv("TRACKER_REDACT_KEYS", '["(unclosed"]')
    with pytest.raises(SettingsError, match="'\\(unclosed' is not a regular expression"):
        TrackerSettings()


def test_a_secret_setting_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook URLs are credentials: not in the repr, not in an error message."""
    monkeypatch.setenv("TRACKER_ALERT_WEBHOOKS", "https://hooks.example/T0-s3cret")
    assert "T0-s3cret" not in repr(TrackerSettings())
    with pytest.raises(SettingsError) as raised:
        TrackerSettings(alert_webhooks=[1, "https://hooks.example/T0-s3cret"])  # type: ignore[list-item]
    assert "alert_webhooks=(hidden): must be a list of text" in str(raised.value)
    assert "T0-s3cret" not in str(raised.value)


def test_an_unknown_argument_raises_naming_the_settings() -> None:
    """A misspelt setting is not ignored: TypeError, with the names there are."""
    with pytest.raises(TypeError, match="has no setting flush_intervall; its settings are uri"):
        TrackerSettings(flush_intervall=1.0)  # type: ignore[call-arg]


def test_every_setting_has_one_variable_and_a_description() -> None:
    """Each setting is read from TRACKER_<NAME> (the launcher's from their own names) and
    says what it is, as docs/settings.md does."""
    fields = TrackerSettings.fields()
    assert fields["flush_interval"].env == ("TRACKER_FLUSH_INTERVAL",)
    assert fields["world_size"].env[:2] == ("TRACKER_WORLD_SIZE", "WORLD_SIZE")
    assert all(f.description for n, f in fields.items() if f.env[0] == f"TRACKER_{n.upper()}")
