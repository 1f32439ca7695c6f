-- Data keys of sealed content: one per (sender, session, UTC day), wrapped
-- (AES-256-GCM) by the master key named by master_id. Deleting a row shreds
-- the content sealed under it.
CREATE TABLE tellyou_data_keys (
    key_id     uuid PRIMARY KEY,
    user_id    text NOT NULL,
    session_id text NOT NULL,
    day        date NOT NULL,
    wrapped    bytea NOT NULL,
    master_id  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, session_id, day)
);
-- Retention shreds a session's old days.
CREATE INDEX tellyou_data_keys_session_day ON tellyou_data_keys (session_id, day);
-- Rotation and the start-up check look for keys under another master.
CREATE INDEX tellyou_data_keys_master ON tellyou_data_keys (master_id);

-- Users whose keys were shredded: no key is ever made for them again.
CREATE TABLE tellyou_erased_users (
    user_id   text PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now()
);

-- The master key a server generated because TELLYOU_MASTER_KEY was unset
-- (one row). Keeping it beside the data it protects only guards against
-- dumps of the other tables: set TELLYOU_MASTER_KEY in production.
CREATE TABLE tellyou_generated_master_key (
    id         int PRIMARY KEY CHECK (id = 1),
    master     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
