-- Edits, reactions and replies in the history read model (projections.History).
--
-- edited_at is the server time of a message's latest edit, 0 for a message
-- never edited (the default: adding the column rewrites no row). An edit
-- replaces content, content_encoding and content_packed as a send writes them.
-- A recall erases what a message said: its content, ext, edited_at and
-- reactions; an edit or reaction logged after the recall changes nothing.
--
-- reply_to is the id of the message a message answers, NULL for none (and for
-- a replyTo that is not a message id, which answers no message the read model
-- can hold). It stays on a recalled reply, which keeps its place in the thread
-- as it keeps its seq in the history. The partial index serves thread pages:
-- the replies to one message of a session, in seq order.
ALTER TABLE rm_messages
    ADD COLUMN edited_at bigint NOT NULL DEFAULT 0,
    ADD COLUMN reply_to uuid;
CREATE INDEX ON rm_messages (session_id, reply_to, seq) WHERE reply_to IS NOT NULL;

-- History projection: one row per current reaction, a user's emoji on a
-- message (a user has at most one of each emoji on a message). version is the
-- version, in the session's stream, of the ReactionAdded that put it there: a
-- message's reactions are listed in the order they were added, the same in a
-- rebuild as live. A ReactionRemoved deletes the row; adding the reaction
-- again puts it last. Rows exist only for messages of rm_messages that are not
-- recalled.
CREATE TABLE rm_reactions (
    message_id uuid NOT NULL,
    emoji      text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    version    bigint NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

---- create above / drop below ----

DROP TABLE rm_reactions;
ALTER TABLE rm_messages
    DROP COLUMN reply_to,
    DROP COLUMN edited_at;
