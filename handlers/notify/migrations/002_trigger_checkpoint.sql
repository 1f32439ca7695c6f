-- Where each offline-notification trigger stands in the global log: the
-- position of the last event it decided on. Written in the same transaction
-- as the outbox rows of those events, so that a crash neither loses a
-- notification nor enqueues one twice.
CREATE TABLE IF NOT EXISTS tellyou_notify_checkpoints (
    name       text COLLATE "C" PRIMARY KEY,
    position   bigint NOT NULL CHECK (position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

---- create above / drop below ----

DROP TABLE tellyou_notify_checkpoints;
