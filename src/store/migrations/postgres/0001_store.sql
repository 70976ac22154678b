-- cer's store on PostgreSQL, shared by several machines.
CREATE TABLE IF NOT EXISTS cer_reports (
    conversation_space_id TEXT PRIMARY KEY,
    account_key TEXT,
    call_created TIMESTAMPTZ,
    call_answered TIMESTAMPTZ,
    call_ended TIMESTAMPTZ,
    direction TEXT,
    outcome TEXT NOT NULL,
    caller_name TEXT,
    caller_number TEXT,
    duration_seconds BIGINT,
    report JSONB NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS cer_reports_call_ended ON cer_reports (call_ended);

CREATE TABLE IF NOT EXISTS cer_cursors (
    account_key TEXT PRIMARY KEY,
    cursor_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS cer_outbox (
    conversation_space_id TEXT NOT NULL,
    target TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    created_ms BIGINT NOT NULL,
    next_ms BIGINT NOT NULL,
    lease_ms BIGINT NOT NULL,
    deadline_ms BIGINT NOT NULL,
    PRIMARY KEY (conversation_space_id, target)
);
CREATE INDEX IF NOT EXISTS cer_outbox_due ON cer_outbox (target, state, next_ms);
