-- Where each analytics feed relay stands: the global position of the last
-- event it published (with the broker's ack) on its topic.
CREATE TABLE IF NOT EXISTS tellyou_feed_checkpoints (
    name       text PRIMARY KEY,
    position   bigint NOT NULL CHECK (position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
