-- Retention: a session's own retention and how far its messages expired.
--
-- retention_days is the session's own setting (NULL: the server's default);
-- expired_seq is the seq every message up to which has expired: the history
-- and search rows up to it are gone, seq numbering goes on above it.
--
-- The retention sweeper (readmodels.Queries.DueExpiries) looks at the
-- sessions that have a retention and, for each, at its first message still
-- held (the primary key of rm_messages, (session_id, seq)). With no server
-- default only sessions with their own setting have one: the partial index
-- finds them without reading the others.
ALTER TABLE rm_sessions
    ADD COLUMN retention_days int,
    ADD COLUMN expired_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX ON rm_sessions (session_id) WHERE retention_days IS NOT NULL;
-- The daily shredding pass (readmodels.Queries.ExpiredSessions) visits the
-- sessions that have had an expiry.
CREATE INDEX ON rm_sessions (session_id, expired_seq) WHERE expired_seq > 0;

---- create above / drop below ----

DROP INDEX rm_sessions_session_id_expired_seq_idx;
DROP INDEX rm_sessions_session_id_idx;
ALTER TABLE rm_sessions DROP COLUMN expired_seq, DROP COLUMN retention_days;
