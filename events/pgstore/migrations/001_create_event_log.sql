-- The event log. See the pgstore package documentation for why positions are
-- derived from transaction ids and why data and metadata are json, not jsonb.

-- One row per stream: its current version. Appends lock this row, which
-- serialises appends to one stream and nothing else.
CREATE TABLE tellyou_streams (
    stream_id text PRIMARY KEY,
    version   bigint NOT NULL CHECK (version > 0)
);

CREATE TABLE tellyou_events (
    -- (writing transaction's xid << 20) + index of the event in that transaction.
    position    bigint PRIMARY KEY,
    stream_id   text NOT NULL,
    version     bigint NOT NULL CHECK (version > 0),
    event_id    uuid NOT NULL CONSTRAINT tellyou_events_event_id_key UNIQUE,
    type        text NOT NULL,
    -- json keeps the appended bytes exactly; jsonb would normalise them.
    data        json NOT NULL,
    metadata    json NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tellyou_events_stream_version_key UNIQUE (stream_id, version)
);
