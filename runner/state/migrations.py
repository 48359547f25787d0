"""Versioned, atomic schema migrations for the state file."""

from __future__ import annotations

# Each entry moves the file from version N-1 to N inside one transaction.
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE resources (
        address TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        provider TEXT NOT NULL,
        parent TEXT,
        generation INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        spec TEXT NOT NULL,
        attrs TEXT NOT NULL,
        lifecycle TEXT NOT NULL DEFAULT '{}',
        protect INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        remote_id TEXT,
        detail TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        serial INTEGER NOT NULL
    );
    CREATE INDEX resources_status ON resources(status);
    CREATE TABLE generations (
        address TEXT NOT NULL,
        generation INTEGER NOT NULL,
        kind TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        spec TEXT NOT NULL,
        token TEXT NOT NULL,
        remote_id TEXT,
        parent_remote_id TEXT,
        status TEXT NOT NULL,
        origin TEXT NOT NULL DEFAULT '{}',
        provenance TEXT NOT NULL DEFAULT '{}',
        apply_id INTEGER,
        created_at TEXT NOT NULL,
        submitted_at TEXT,
        finished_at TEXT,
        retired_at TEXT,
        retired_reason TEXT,
        serial INTEGER NOT NULL,
        PRIMARY KEY (address, generation)
    );
    CREATE INDEX generations_token ON generations(token);
    CREATE TABLE results (
        address TEXT NOT NULL,
        generation INTEGER NOT NULL,
        counts TEXT NOT NULL,
        shots INTEGER NOT NULL,
        data TEXT NOT NULL,
        digest TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (address, generation)
    );
    CREATE TABLE intents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        address TEXT NOT NULL,
        generation INTEGER NOT NULL,
        operation TEXT NOT NULL,
        token TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL,
        remote_id TEXT,
        detail TEXT NOT NULL DEFAULT '{}',
        apply_id INTEGER,
        created_at TEXT NOT NULL,
        resolved_at TEXT
    );
    CREATE INDEX intents_open ON intents(state, address);
    CREATE TABLE applies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        operation TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT NOT NULL,
        manifest TEXT,
        manifest_digest TEXT,
        plan_digest TEXT,
        git_commit TEXT,
        git_dirty INTEGER,
        versions TEXT NOT NULL DEFAULT '{}',
        summary TEXT NOT NULL DEFAULT '{}',
        serial_before INTEGER NOT NULL,
        serial_after INTEGER,
        user TEXT,
        host TEXT
    );
    CREATE TABLE targets (
        name TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        config TEXT NOT NULL,
        base_dir TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE lock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        owner TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        ns TEXT NOT NULL,
        operation TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        expires_at REAL NOT NULL,
        fence INTEGER NOT NULL
    );
    """,
    # 2: what the provider said about a target when jobs were submitted (device specs, availability)
    2: """
    CREATE TABLE target_snapshots (
        digest TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        provider TEXT NOT NULL,
        captured_at TEXT NOT NULL,
        body TEXT NOT NULL
    );
    """,
    # 3: the service each resource and generation lives on (endpoint, workspace, project), part of its identity
    3: """
    ALTER TABLE resources ADD COLUMN service TEXT;
    ALTER TABLE generations ADD COLUMN service TEXT;
    """,
    # 4: creates a lease holder may still send after losing its lease (it was paused, not killed): the next runs
    # look for remote objects carrying their tokens, keep one and cancel the others
    4: """
    CREATE TABLE stale_sends (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token TEXT NOT NULL,
        address TEXT NOT NULL,
        generation INTEGER NOT NULL,
        intent_id INTEGER,
        stale_owner TEXT NOT NULL,
        stale_host TEXT NOT NULL,
        stale_pid INTEGER NOT NULL,
        stale_ns TEXT NOT NULL,
        noted_at TEXT NOT NULL,
        noted_epoch REAL NOT NULL,
        closed_at TEXT,
        closed_reason TEXT
    );
    CREATE INDEX stale_sends_open ON stale_sends(closed_at);
    """,
}

LATEST = max(MIGRATIONS)
