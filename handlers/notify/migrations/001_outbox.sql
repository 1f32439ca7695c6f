-- Offline notifications waiting for the push gateway. One row per (user,
-- message): enqueueing again is a no-op while the row waits. body is the
-- exact JSON that is signed and sent; its webhook-id is derived from
-- (user_id, message_id) (notify.WebhookID). next_attempt_at is also the lease of a
-- sender that claimed the row: pushed past the request timeout, so a sender
-- that dies mid-request leaves the row to be claimed again.
CREATE TABLE IF NOT EXISTS tellyou_notify_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         text COLLATE "C" NOT NULL,
    message_id      text COLLATE "C" NOT NULL,
    body            text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, message_id)
);
CREATE INDEX IF NOT EXISTS tellyou_notify_outbox_due ON tellyou_notify_outbox (next_attempt_at);

-- Notifications given up after the configured number of attempts, kept with
-- the last error for the operator. A (user, message) here is not enqueued
-- again.
CREATE TABLE IF NOT EXISTS tellyou_notify_dead (
    user_id    text COLLATE "C" NOT NULL,
    message_id text COLLATE "C" NOT NULL,
    body       text NOT NULL,
    attempts   integer NOT NULL,
    last_error text NOT NULL,
    created_at timestamptz NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, message_id)
);

---- create above / drop below ----

DROP TABLE tellyou_notify_dead;
DROP TABLE tellyou_notify_outbox;
