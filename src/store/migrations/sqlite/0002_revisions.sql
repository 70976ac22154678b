-- Post-call analysis and hardening: every revision of a report, an outbox that holds no report
-- body and no target secret (rows keyed by report, revision and a digest of the target, kept
-- once delivered so a later catch-up knows what each target already has), the targets that
-- listeners serve, and the re-fetch schedule.
ALTER TABLE cer_reports ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cer_reports ADD COLUMN updated_at TEXT;

CREATE TABLE IF NOT EXISTS cer_report_revisions (
    conversation_space_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    report TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (conversation_space_id, revision)
);
-- The first revision of what is stored: the outbox's copy where one exists, being the text
-- exactly as GoTo sent it.
INSERT OR IGNORE INTO cer_report_revisions (conversation_space_id, revision, report, fetched_at)
SELECT r.conversation_space_id, 1,
       COALESCE((SELECT o.body FROM cer_outbox o
                 WHERE o.conversation_space_id = r.conversation_space_id LIMIT 1), r.report),
       r.stored_at
FROM cer_reports r;

ALTER TABLE cer_outbox RENAME TO cer_outbox_v1;
DROP INDEX IF EXISTS cer_outbox_due;
CREATE TABLE cer_outbox (
    conversation_space_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    target_key TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    next_ms INTEGER NOT NULL,
    lease_ms INTEGER NOT NULL,
    holder TEXT,
    deadline_ms INTEGER NOT NULL,
    PRIMARY KEY (conversation_space_id, target_key, revision)
);
CREATE INDEX cer_outbox_due ON cer_outbox (target_key, state, next_ms);
-- Older rows name their target in clear; cer replaces that with its digest and redacted form
-- when it opens the store (SQLite has no SHA-256 of its own).
INSERT INTO cer_outbox (conversation_space_id, revision, target_key, target, state, attempts,
                        last_error, created_ms, next_ms, lease_ms, holder, deadline_ms)
SELECT conversation_space_id, 1, 'legacy:' || target, target, state, attempts, last_error,
       created_ms, next_ms, 0, NULL, deadline_ms
FROM cer_outbox_v1;
DROP TABLE cer_outbox_v1;

CREATE TABLE IF NOT EXISTS cer_targets (
    target_key TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    seen_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS cer_refetches (
    conversation_space_id TEXT NOT NULL,
    point INTEGER NOT NULL,
    due_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    lease_ms INTEGER NOT NULL,
    PRIMARY KEY (conversation_space_id, point)
);
CREATE INDEX IF NOT EXISTS cer_refetches_due ON cer_refetches (due_ms);
