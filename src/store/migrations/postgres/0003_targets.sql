-- Targets belong to the store, and a target URL is a secret (issue 26). `cer_targets` is the
-- register of every target a listener ever named: every revision any process stores is queued
-- for each, with that target's --forward-for. It holds the target's shown form
-- (`https://host/… [tag]`) and tag, keyed by a digest of the URL, never the URL or a part of its
-- path. `cer_target_listeners` says which running listener delivers to which target, so a
-- target none delivers to shows as orphaned. The outbox names its target by key alone.
ALTER TABLE cer_targets RENAME TO cer_targets_v2;
CREATE TABLE cer_targets (
    target_key TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    tag TEXT NOT NULL,
    forward_for_ms BIGINT NOT NULL,
    registered_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS cer_target_listeners (
    target_key TEXT NOT NULL,
    holder TEXT NOT NULL,
    seen_ms BIGINT NOT NULL,
    PRIMARY KEY (target_key, holder)
);
-- Every target an earlier version knew is registered. Its old form (which showed path
-- segments in clear) gives way to scheme, host and port; the tag is the key's first six hex
-- characters, the same digest of the same URL.
INSERT INTO cer_targets (target_key, target, tag, forward_for_ms, registered_ms)
SELECT target_key,
       CASE WHEN cut = 0 THEN 'unknown'
            ELSE substr(old, 1, cut + 2) || replace(authority, '***@', '')
                 || CASE WHEN substr(rest, length(authority) + 1) IN ('', '/') THEN '' ELSE '/…' END
       END || ' [' || substr(target_key, 8, 6) || ']',
       substr(target_key, 8, 6), 86400000, 0
FROM (SELECT target_key, old, cut, rest,
             CASE WHEN strpos(rest, '/') > 0 THEN substr(rest, 1, strpos(rest, '/') - 1)
                  ELSE rest END AS authority
      FROM (SELECT target_key, old, strpos(old, '://') AS cut,
                   substr(old, strpos(old, '://') + 3) AS rest
            FROM (SELECT target_key, MIN(target) AS old
                  FROM (SELECT target_key, target FROM cer_targets_v2
                        UNION ALL SELECT target_key, target FROM cer_outbox) AS named
                  WHERE target_key LIKE 'sha256:%'
                  GROUP BY target_key) AS known) AS cut_up) AS parts;
DROP TABLE cer_targets_v2;
-- Orphaned is no longer a stored state: a pending delivery whose target no running listener
-- names is shown as orphaned.
UPDATE cer_outbox SET state = 'pending' WHERE state = 'orphaned';
-- An error an earlier version kept may quote the URL.
UPDATE cer_outbox SET last_error = '(not shown: it named the target)' WHERE last_error LIKE '%://%';
ALTER TABLE cer_outbox DROP COLUMN IF EXISTS target;
