-- When each user's last connection closed, in ms since the Unix epoch: the
-- one part of presence that outlives a restart. Written by the node that saw
-- the user go offline (or that expired the user's dead node), never rebuilt
-- from the event log.
CREATE TABLE IF NOT EXISTS tellyou_presence (
    user_id      text COLLATE "C" PRIMARY KEY,
    last_seen_at bigint NOT NULL
);

---- create above / drop below ----

DROP TABLE tellyou_presence;
