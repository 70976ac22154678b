-- cer's store on SQLite. IF NOT EXISTS lets a second process that raced the first one finish.
CREATE TABLE IF NOT EXISTS cer_reports (
    conversation_space_id TEXT PRIMARY KEY,
    account_key TEXT,
    call_created TEXT,
    call_answered TEXT,
    call_ended TEXT,
    direction TEXT,
    outcome TEXT NOT NULL,
    caller_name TEXT,
    caller_number TEXT,
    duration_seconds INTEGER,
    report TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cer_reports_call_ended ON cer_reports (call_ended);

CREATE TABLE IF NOT EXISTS cer_cursors (
    account_key TEXT PRIMARY KEY,
    cursor_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS cer_outbox (
    conversation_space_id TEXT NOT NULL,
    target TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    next_ms INTEGER NOT NULL,
    lease_ms INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    PRIMARY KEY (conversation_space_id, target)
);
CREATE INDEX IF NOT EXISTS cer_outbox_due ON cer_outbox (target, state, next_ms);
