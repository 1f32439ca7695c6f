-- Positions in commit order. Every append transaction takes the next
-- positions from this one row as its last statement before COMMIT: the row
-- lock it holds until then makes transactions that append commit one after
-- the other, in the order of their positions, so that readers of the global
-- log see a gapless prefix of it and never wait for unrelated transactions.
-- See the pgstore package documentation.
CREATE TABLE tellyou_log_head (
    -- One row only.
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    -- The position of the last event appended (0 before the first).
    position bigint NOT NULL CHECK (position >= 0)
);

-- Events appended before this table existed keep their positions (derived
-- from transaction ids); new ones continue above the highest. The lock waits
-- for appends still running and holds new ones until this commits. Nodes of a
-- version that derives positions from transaction ids must all be stopped
-- before a node of this version starts.
LOCK TABLE tellyou_events IN SHARE MODE;
INSERT INTO tellyou_log_head (position) SELECT coalesce(max(position), 0) FROM tellyou_events;

COMMENT ON COLUMN tellyou_events.position IS
    'Global position: gapless and in commit order from tellyou_log_head; events older than that table keep (xid << 20) + index.';
