-- Erased users' messages in the history read model (projections.History).
--
-- erased is true for a message whose sender was erased (UserErased) or whose
-- content the log can no longer open (a MessageSent or MessageEdited whose
-- key was shredded). An erased row keeps its seq, ids, sender, timestamps,
-- reply_to and reactions, which the log keeps in clear for audit; its
-- content, content_packed and ext are empty, and an edit of an erased row
-- moves only its edited_at (so the outcome does not depend on whether the
-- edit was logged before or after the erasure). The default false rewrites
-- no row.
--
-- rm_search needs no column: an erased message's row is marked recalled with
-- an empty body, as a recalled one is, so it never matches and a late copy of
-- its MessageSent does not bring it back.
--
-- No index on sender_id: an erasure updates the rows of one sender with one
-- scan of rm_messages and of rm_search, and erasures are rare; an index would
-- cost every message sent.
ALTER TABLE rm_messages ADD COLUMN erased boolean NOT NULL DEFAULT false;

---- create above / drop below ----

-- Going down forgets which rows are erased, not what they said: their
-- content stays empty.
ALTER TABLE rm_messages DROP COLUMN erased;
