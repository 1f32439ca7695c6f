-- Read models of TellYou, built only from events by projections/.
--
-- No constraint or index is given an explicit name: a rebuild clones each table
-- with CREATE TABLE ... (LIKE ... INCLUDING ALL), which names the clone's indexes
-- after the clone, and the switch renames them back to these default names.
-- Identifier columns use the "C" collation: ids compare and sort in byte order,
-- as the protocol defines session ids and member lists.

-- History projection: one row per message, keyed by its seq in the session.
-- The primary key carries sender_id and recalled so that unread counts are
-- index-only range scans. ext is json, not jsonb: it comes back byte for byte as
-- sent, and json accepts every JSON text the event decoder does, where jsonb
-- refuses some (\u0000, lone surrogate escapes, numbers beyond numeric), which
-- would stop the projection for everyone.
CREATE TABLE rm_messages (
    session_id        text COLLATE "C" NOT NULL,
    seq               bigint NOT NULL,
    message_id        uuid NOT NULL UNIQUE,
    sender_id         text COLLATE "C" NOT NULL,
    message_type      int NOT NULL,
    content           text NOT NULL,
    ext               json,
    client_message_id text NOT NULL,
    client_ts         bigint NOT NULL,
    server_ts         bigint NOT NULL,
    adjusted_ts       bigint NOT NULL,
    recalled          boolean NOT NULL DEFAULT false,
    PRIMARY KEY (session_id, seq) INCLUDE (sender_id, recalled)
);

-- Sessions projection: one row per session.
CREATE TABLE rm_sessions (
    session_id    text COLLATE "C" PRIMARY KEY,
    kind          text NOT NULL,
    title         text NOT NULL DEFAULT '',
    owner         text COLLATE "C" NOT NULL DEFAULT '',
    created_at    bigint NOT NULL,
    last_seq      bigint NOT NULL DEFAULT 0,
    -- server time of the latest message, or created_at before the first one
    last_activity bigint NOT NULL
);

-- Sessions projection: one row per current member with their watermarks.
CREATE TABLE rm_members (
    session_id   text COLLATE "C" NOT NULL,
    user_id      text COLLATE "C" NOT NULL,
    received_seq bigint NOT NULL DEFAULT 0,
    read_seq     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX ON rm_members (user_id, session_id) INCLUDE (received_seq, read_seq);

-- Where each projection stands in the global log: the position of the last
-- event applied (0 before the first). Written in the same transaction as the
-- read-model rows, so the models are exactly-once.
CREATE TABLE rm_checkpoints (
    name       text COLLATE "C" PRIMARY KEY,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

---- create above / drop below ----

DROP TABLE rm_checkpoints;
DROP TABLE rm_members;
DROP TABLE rm_sessions;
DROP TABLE rm_messages;
