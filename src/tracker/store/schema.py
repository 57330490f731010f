"""The versioned schema of the SQL stores, as an ordered list of migrations.

Migration ``i`` takes a database from version ``i`` to ``i + 1``. The SQL is kept to what
SQLite and PostgreSQL both accept, so a server store can share it.

Metric points are stored in chunks: one row holds up to `CHUNK_POINTS` points of one
metric as three packed little-endian arrays (int64 steps, float64 values, float64 unix
times). A run's history of 100,000 points is ~100 rows, which is what makes reading it
back fast. ``metrics`` keeps each metric's count, last value and range, so run lists and
summaries never touch the points.
"""

from __future__ import annotations

__all__ = ["CHUNK_POINTS", "MIGRATIONS", "SCHEMA_VERSION"]

CHUNK_POINTS = 1024

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            framework TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            config TEXT NOT NULL DEFAULT '{}',
            summary TEXT NOT NULL DEFAULT '{}',
            environment TEXT NOT NULL DEFAULT '{}',
            error TEXT,
            started_at REAL NOT NULL,
            ended_at REAL,
            heartbeat_at REAL,
            heartbeat_interval REAL
        )""",
        "CREATE INDEX runs_by_project ON runs (project, started_at)",
        "CREATE INDEX runs_by_start ON runs (started_at)",
        "CREATE INDEX runs_by_status ON runs (status)",
        "CREATE INDEX runs_by_name ON runs (name)",
        """CREATE TABLE run_tags (
            run_id TEXT NOT NULL,
            tag TEXT NOT NULL,
            PRIMARY KEY (run_id, tag)
        )""",
        "CREATE INDEX run_tags_by_tag ON run_tags (tag)",
        """CREATE TABLE metric_chunks (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            seq INTEGER NOT NULL,
            n INTEGER NOT NULL,
            step_min INTEGER NOT NULL,
            step_max INTEGER NOT NULL,
            ordered INTEGER NOT NULL,
            steps BLOB NOT NULL,
            vals BLOB NOT NULL,
            times BLOB NOT NULL,
            PRIMARY KEY (run_id, key, seq)
        )""",
        """CREATE TABLE metrics (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            count INTEGER NOT NULL,
            last_step INTEGER NOT NULL,
            last_value REAL,
            last_time REAL NOT NULL,
            min_value REAL,
            max_value REAL,
            PRIMARY KEY (run_id, key)
        )""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            step INTEGER,
            at REAL NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX events_by_run ON events (run_id, id)",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
