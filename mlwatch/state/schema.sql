-- The state database of mlwatch (SQLite, WAL mode). Audit, sign-offs, revocations, exports
-- and performance are append-only, runs and their checks immutable: triggers refuse any
-- UPDATE or DELETE on them. (users is the one table that changes: accounts are disabled.)
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    reference_month TEXT NOT NULL,
    current_month TEXT NOT NULL,
    logs TEXT NOT NULL,
    gate TEXT NOT NULL CHECK (gate IN ('open', 'closed')),
    fingerprint TEXT NOT NULL,
    inputs_fingerprint TEXT NOT NULL,
    config_json TEXT NOT NULL,
    users INTEGER NOT NULL,
    events INTEGER NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    started_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_month ON runs (current_month, created_at);
CREATE TABLE IF NOT EXISTS checks (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    feature TEXT,
    status TEXT NOT NULL,
    value REAL,
    reference REAL,
    threshold REAL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    run_id TEXT,
    detail_json TEXT NOT NULL,
    mac TEXT  -- HMAC-SHA256 chain over the rows (mlwatch/state/integrity.py)
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS runs_no_update BEFORE UPDATE ON runs
BEGIN SELECT RAISE(ABORT, 'runs are immutable; start a new run'); END;
CREATE TRIGGER IF NOT EXISTS runs_no_delete BEFORE DELETE ON runs
BEGIN SELECT RAISE(ABORT, 'runs are immutable; start a new run'); END;
CREATE TRIGGER IF NOT EXISTS checks_no_update BEFORE UPDATE ON checks
BEGIN SELECT RAISE(ABORT, 'the checks of a run are immutable; start a new run'); END;
CREATE TRIGGER IF NOT EXISTS checks_no_delete BEFORE DELETE ON checks
BEGIN SELECT RAISE(ABORT, 'the checks of a run are immutable; start a new run'); END;
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('marketer', 'approver', 'admin')),
    salt BLOB NOT NULL,
    password_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE IF NOT EXISTS signoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    fingerprint TEXT NOT NULL,
    approver TEXT NOT NULL,
    reason TEXT NOT NULL,
    accepted_json TEXT NOT NULL,
    via TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revocations (
    signoff_id INTEGER PRIMARY KEY REFERENCES signoffs (id),
    revoked_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    rows INTEGER NOT NULL,
    control_rows INTEGER NOT NULL,
    holdout REAL NOT NULL,
    seed INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    file TEXT NOT NULL,
    groups_file TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS signoffs_append_only_u BEFORE UPDATE ON signoffs
BEGIN SELECT RAISE(ABORT, 'sign-offs are append-only; revoke instead'); END;
CREATE TRIGGER IF NOT EXISTS signoffs_append_only_d BEFORE DELETE ON signoffs
BEGIN SELECT RAISE(ABORT, 'sign-offs are append-only; revoke instead'); END;
CREATE TRIGGER IF NOT EXISTS revocations_append_only_u BEFORE UPDATE ON revocations
BEGIN SELECT RAISE(ABORT, 'revocations are append-only'); END;
CREATE TRIGGER IF NOT EXISTS revocations_append_only_d BEFORE DELETE ON revocations
BEGIN SELECT RAISE(ABORT, 'revocations are append-only'); END;
CREATE TRIGGER IF NOT EXISTS exports_append_only_u BEFORE UPDATE ON exports
BEGIN SELECT RAISE(ABORT, 'exports are append-only'); END;
CREATE TRIGGER IF NOT EXISTS exports_append_only_d BEFORE DELETE ON exports
BEGIN SELECT RAISE(ABORT, 'exports are append-only'); END;
CREATE TABLE IF NOT EXISTS performance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    actuals_month TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    metrics_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS performance_by_run ON performance (run_id, id);
CREATE TRIGGER IF NOT EXISTS performance_append_only_u BEFORE UPDATE ON performance
BEGIN SELECT RAISE(ABORT, 'actual performance is append-only; recompute adds a row'); END;
CREATE TRIGGER IF NOT EXISTS performance_append_only_d BEFORE DELETE ON performance
BEGIN SELECT RAISE(ABORT, 'actual performance is append-only; recompute adds a row'); END;
