"""The versioned schema of the SQL stores, as an ordered list of migrations.

Migration ``i`` takes a database from version ``i`` to ``i + 1``; SQLite and PostgreSQL
run the very same statements. Where the engines spell a column type differently, a
statement names it by role and the engine's dialect fills it in (`types`): ``{int}`` an
integer of 64 bits, ``{float}`` a double, ``{blob}`` bytes, ``{serial}`` an integer key
the database numbers. Each engine keeps the version its own way (see the dialects).

Metric points are stored in chunks: one row holds up to `CHUNK_POINTS` points of one
metric as three packed little-endian arrays (int64 steps, float64 values, float64 unix
times). A run's history of 100,000 points is ~100 rows, which is what makes reading it
back fast. Only a metric's last chunk (its *tail*) grows; ``metrics`` keeps each metric's
count, last value and range, so run lists and summaries never touch the points, and the
position of its tail (``tail_seq``, ``tail_n``), so an append finds it with one indexed
lookup in its own transaction, whichever process wrote last.

A batch that carries an identity (`tracker.records.MetricBatch.writer` and ``seq``) is
recorded in ``metric_batches`` in the transaction that stores its points: a retried
batch is recognised and stored once. An event is stored once per run, kind, time and step.

Each chunk also keeps its ``extremes``: its first, lowest, highest and last finite point
and how many of its values are not finite, packed, so that an overview chart of many runs
(the workspace) reads a few numbers a chunk instead of every point.

A table's rows (`tracker.tables`) are one ``table_rows`` row each, as JSON, keyed by run,
table, step and position: a step's rows are one indexed range; ``tables`` lists each
run's tables with their number of steps.

An artifact version (`tracker.records.Artifact`) is one ``artifacts`` row, found by run,
by digest or by uri (lineage); its metrics and meta are JSON.

A run's ``sweep`` names the hyperparameter search it is one trial of (indexed: a sweep's
runs are one range).

An evaluation's score (`tracker.records.Evaluation`) is one ``evaluations`` row, once per
evaluating run, evaluation and metric; found by run, or by the evaluated version's digest
or uri (a checkpoint's scores, whichever was recorded first); a NaN score is NULL. The
same scores are kept together in ``version_scores``, one row per evaluating run and
evaluated version (``digest`` ``''`` where unhashed), written in the transaction that
adds them: each batch of new scores is appended to its row's ``scores`` as one JSON array
of columns (`tracker.store.sql`), so that a leaderboard of 1,000 checkpoints x 50 tasks
reads 1,000 rows instead of 50,000.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CHUNK_POINTS", "MIGRATIONS", "SCHEMA_VERSION", "migration"]

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
            config TEXT NOT NULL DEFAULT '{{}}',
            summary TEXT NOT NULL DEFAULT '{{}}',
            environment TEXT NOT NULL DEFAULT '{{}}',
            error TEXT,
            started_at {float} NOT NULL,
            ended_at {float},
            heartbeat_at {float},
            heartbeat_interval {float}
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
            seq {int} NOT NULL,
            n {int} NOT NULL,
            step_min {int} NOT NULL,
            step_max {int} NOT NULL,
            ordered {int} NOT NULL,
            steps {blob} NOT NULL,
            vals {blob} NOT NULL,
            times {blob} NOT NULL,
            PRIMARY KEY (run_id, key, seq)
        )""",
        """CREATE TABLE metrics (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            count {int} NOT NULL,
            last_step {int} NOT NULL,
            last_value {float},
            last_time {float} NOT NULL,
            min_value {float},
            max_value {float},
            PRIMARY KEY (run_id, key)
        )""",
        """CREATE TABLE events (
            id {serial},
            run_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            step {int},
            at {float} NOT NULL,
            payload TEXT NOT NULL DEFAULT '{{}}'
        )""",
        "CREATE INDEX events_by_run ON events (run_id, id)",
    ],
    [
        # where each metric's tail chunk is, found from what version 1 stored
        "ALTER TABLE metrics ADD COLUMN tail_seq {int} NOT NULL DEFAULT 0",
        "ALTER TABLE metrics ADD COLUMN tail_n {int} NOT NULL DEFAULT 0",
        """UPDATE metrics SET tail_seq = COALESCE((SELECT MAX(c.seq) FROM metric_chunks c
            WHERE c.run_id = metrics.run_id AND c.key = metrics.key), 0)""",
        """UPDATE metrics SET tail_n = COALESCE((SELECT c.n FROM metric_chunks c
            WHERE c.run_id = metrics.run_id AND c.key = metrics.key
            AND c.seq = metrics.tail_seq), 0)""",
        """CREATE TABLE metric_batches (
            run_id TEXT NOT NULL,
            writer TEXT NOT NULL,
            seq {int} NOT NULL,
            PRIMARY KEY (run_id, writer, seq)
        )""",
        """DELETE FROM events WHERE id NOT IN (SELECT MIN(id) FROM events
            GROUP BY run_id, kind, at, COALESCE(step, -1))""",
        "CREATE UNIQUE INDEX events_once ON events (run_id, kind, at, COALESCE(step, -1))",
        "CREATE INDEX runs_by_framework ON runs (framework, started_at)",
    ],
    [
        # tables (completions, generations): rows as JSON, per step; `tables` lists them
        """CREATE TABLE table_rows (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            step {int} NOT NULL,
            idx {int} NOT NULL,
            row TEXT NOT NULL,
            PRIMARY KEY (run_id, key, step, idx)
        )""",
        """CREATE TABLE tables (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            steps {int} NOT NULL,
            last_step {int} NOT NULL,
            PRIMARY KEY (run_id, key)
        )""",
    ],
    [
        # each chunk's first, lowest, highest and last finite point (`tracker.store.sql`),
        # for overview charts; NULL in chunks stored before, which are read whole instead
        "ALTER TABLE metric_chunks ADD COLUMN extremes {blob}",
    ],
    [
        # artifact versions a run produced or used (`tracker.records.Artifact`); ``ident``
        # is the digest, else "uri:" and the uri: one row per run, direction, name, ident
        """CREATE TABLE artifacts (
            id {serial},
            run_id TEXT NOT NULL,
            direction TEXT NOT NULL,
            name TEXT NOT NULL,
            ident TEXT NOT NULL,
            version {int} NOT NULL,
            kind TEXT NOT NULL,
            uri TEXT NOT NULL,
            digest TEXT,
            size {int},
            files {int},
            step {int},
            metrics TEXT NOT NULL DEFAULT '{{}}',
            state TEXT NOT NULL,
            best {int} NOT NULL DEFAULT 0,
            created_at {float} NOT NULL,
            meta TEXT NOT NULL DEFAULT '{{}}'
        )""",
        "CREATE UNIQUE INDEX artifacts_once ON artifacts (run_id, direction, name, ident)",
        "CREATE INDEX artifacts_by_run ON artifacts (run_id, id)",
        "CREATE INDEX artifacts_by_digest ON artifacts (digest)",
        "CREATE INDEX artifacts_by_uri ON artifacts (uri)",
    ],
    [
        # the sweep (hyperparameter search) a run is one trial of; NULL for a lone run
        "ALTER TABLE runs ADD COLUMN sweep TEXT",
        "CREATE INDEX runs_by_sweep ON runs (sweep, started_at)",
    ],
    [
        # scores of evaluated versions (`tracker.records.Evaluation`), by the run that
        # evaluated them; matched to a checkpoint by digest or uri when read
        """CREATE TABLE evaluations (
            id {serial},
            run_id TEXT NOT NULL,
            eval_id TEXT NOT NULL,
            task TEXT NOT NULL,
            metric TEXT NOT NULL,
            value {float},
            stderr {float},
            uri TEXT NOT NULL,
            digest TEXT,
            settings TEXT NOT NULL DEFAULT '{{}}',
            samples TEXT,
            created_at {float} NOT NULL
        )""",
        "CREATE UNIQUE INDEX evaluations_once ON evaluations (run_id, eval_id, metric)",
        "CREATE INDEX evaluations_by_run ON evaluations (run_id, id)",
        "CREATE INDEX evaluations_by_digest ON evaluations (digest)",
        "CREATE INDEX evaluations_by_uri ON evaluations (uri)",
        # the same scores kept together by evaluating run and version, for leaderboards
        """CREATE TABLE version_scores (
            run_id TEXT NOT NULL,
            uri TEXT NOT NULL,
            digest TEXT NOT NULL,
            scores TEXT NOT NULL,
            PRIMARY KEY (run_id, uri, digest)
        )""",
        "CREATE INDEX version_scores_by_digest ON version_scores (digest)",
        "CREATE INDEX version_scores_by_uri ON version_scores (uri)",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)


def migration(version: int, types: Mapping[str, str]) -> list[str]:
    """The statements that take a database from ``version`` to ``version + 1``, with the
    engine's column ``types`` filled in."""
    return [statement.format_map(types) for statement in MIGRATIONS[version]]
