-- Steps of a migration that SQL cannot do (cer does them in Rust once, after the migrations,
-- and records each here): the first recomputes every stored report's `outcome` column by the
-- rule "was a person reached" (SPEC section 10), which changed the words of earlier versions.
CREATE TABLE IF NOT EXISTS cer_steps (
    step TEXT PRIMARY KEY,
    done_at TIMESTAMPTZ NOT NULL
);
