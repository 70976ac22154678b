-- The archive (recordings and transcripts, SPEC section 13): one row per object a stored report
-- names, claimed with a lease like the outbox so that listeners sharing a store archive each
-- object once, and kept once archived with where it went, its size and its SHA-256.
CREATE TABLE IF NOT EXISTS cer_media (
    conversation_space_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    media_id TEXT NOT NULL,
    participant_id TEXT,
    state TEXT NOT NULL,
    object_key TEXT,
    bytes INTEGER,
    sha256 TEXT,
    content_type TEXT,
    archived_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    next_ms INTEGER NOT NULL,
    lease_ms INTEGER NOT NULL DEFAULT 0,
    holder TEXT,
    PRIMARY KEY (conversation_space_id, kind, media_id)
);
CREATE INDEX IF NOT EXISTS cer_media_due ON cer_media (state, next_ms);
