"""`TrackerSettings`: the one place that reads the environment.

Every option has a ``TRACKER_`` variable (``TRACKER_URI``, ``TRACKER_DIR``, ...). The
launcher variables that say which process this is (``RANK``, ``WORLD_SIZE``, ...) are read
here too, under their usual names, so that no other module touches ``os.environ``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["TrackerSettings", "default_dir"]


def default_dir() -> Path:
    """The folder of the embedded store when ``TRACKER_DIR`` is not set.

    ``$XDG_DATA_HOME/tracker``, which is ``~/.local/share/tracker`` on most systems.
    """
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "tracker"


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class TrackerSettings(BaseSettings):
    """Settings of `tracker`, read from ``TRACKER_*`` variables and constructor arguments.

    Constructor arguments win over the environment, which wins over the defaults.
    """

    model_config = SettingsConfigDict(env_prefix="TRACKER_", extra="ignore", populate_by_name=True)

    uri: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Store URI(s), comma separated: `sqlite:///path.db`, `jsonl:///dir`, "
        "`memory://name`, or a scheme registered by a plugin. Several URIs fan out.",
    )
    dir: Path = Field(
        default_factory=default_dir,
        description="Folder of the embedded default store (`tracker.db` inside it).",
    )
    project: str = Field(default="default", description="Project of new runs.")
    run_name: str | None = Field(default=None, description="Name of the next run.")
    run_id: str | None = Field(default=None, description="Id of a run to resume or create.")
    tags: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Tags of new runs, comma separated."
    )
    sweep: str | None = Field(
        default=None, description="Sweep (hyperparameter search) new runs belong to."
    )
    disabled: bool = Field(default=False, description="Make every tracker call a no-op.")
    flush_interval: float = Field(
        default=1.0, ge=0.01, description="Seconds between background writes to the store."
    )
    heartbeat_interval: float = Field(
        default=10.0, ge=0.05, description="Seconds between heartbeats of a running run."
    )
    finish_timeout: float = Field(
        default=30.0, ge=0.0, description="Most seconds `finish()` waits for pending writes."
    )
    max_pending: int = Field(
        default=200_000,
        ge=1_000,
        description="Most `log_metrics` calls queued in memory (and ten times as many points "
        "kept per failing backend); past it new calls are dropped, counted and reported.",
    )
    spool_max_mb: int = Field(
        default=1024,
        ge=0,
        description="Most megabytes of metric points spooled to disk per backend while it "
        "is unreachable (after `max_pending` x 10 points in memory); past it the oldest "
        "points are dropped and counted.",
    )
    deliver_unsent: bool = Field(
        default=True,
        description="At a run's start, deliver in the background what earlier runs of this "
        "machine could not write to the same store (their rescue files and spools).",
    )
    redact: bool = Field(
        default=True, description="Redact secrets in everything a run records (docs/values.md)."
    )
    redact_keys: list[str] = Field(
        default_factory=list,
        description='More key names to redact: regular expressions, a JSON list (`["^my_pass$"]`).',
    )
    redact_patterns: list[str] = Field(
        default_factory=list,
        description="More secret shapes to redact in text, regular expressions as a JSON list: "
        '`["acme-[0-9a-f]{32}"]`.',
    )
    system_interval: float = Field(
        default=10.0, ge=0.0, description="Seconds between system metric samples; 0 turns it off."
    )
    node_name: str | None = Field(
        default=None,
        description="This node's name in the system metric keys of a job of several nodes "
        "(default: the host name).",
    )
    handle_signals: bool = Field(
        default=True, description="Record SIGTERM as `interrupted` before the process ends."
    )
    alert_webhooks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        repr=False,  # webhook URLs are credentials
        description="Webhook URLs alerts are posted to, comma separated; `slack:` in front "
        "of one posts Slack's form, else the generic JSON form.",
    )
    alert_retries: int = Field(
        default=3, ge=0, le=10, description="Most retries of an alert post that surely failed."
    )
    alert_timeout: float = Field(
        default=10.0,
        gt=0.0,
        description="Most seconds one alert post may take; `finish()` waits as long for "
        "alerts still being posted.",
    )
    alert_min_interval: float = Field(
        default=60.0,
        ge=0.0,
        description="Seconds within which an alert of the same title is not raised again.",
    )
    stall_after: float = Field(
        default=1800.0,
        gt=0.0,
        description="Seconds without a new step, heartbeat alive, after which a run is stalled.",
    )
    watch_interval: float = Field(
        default=30.0, ge=0.05, description="Seconds between two looks of `tracker watch`."
    )
    ui_watch: bool = Field(
        default=True, description="Have `tracker ui` raise crashed and stalled alerts too."
    )

    # What the launcher (torchrun, accelerate, deepspeed, SLURM, MPI) says about this process.
    rank: int = Field(
        default=0,
        validation_alias=AliasChoices(
            "TRACKER_RANK", "RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"
        ),
    )
    local_rank: int = Field(
        default=0,
        validation_alias=AliasChoices(
            "TRACKER_LOCAL_RANK", "LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"
        ),
    )
    world_size: int = Field(
        default=1,
        validation_alias=AliasChoices(
            "TRACKER_WORLD_SIZE", "WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS"
        ),
    )
    local_world_size: int = Field(
        default=1,
        validation_alias=AliasChoices(
            "TRACKER_LOCAL_WORLD_SIZE", "LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE"
        ),
    )
    cuda_visible_devices: str | None = Field(
        default=None, validation_alias=AliasChoices("CUDA_VISIBLE_DEVICES")
    )

    @field_validator("uri", "tags", "alert_webhooks", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("redact_keys", "redact_patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
            if compiled.fullmatch(""):
                raise ValueError(f"{pattern!r} matches empty text, so it would redact everything")
        return value

    @property
    def store_uris(self) -> list[str]:
        """The store URIs in effect: ``TRACKER_URI``, else the embedded SQLite store."""
        if self.uri:
            return list(self.uri)
        return [f"sqlite:///{self.dir / 'tracker.db'}"]
