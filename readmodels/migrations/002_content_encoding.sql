-- Large message content is stored compressed (see readmodels.ContentCodec).
--
-- content_encoding says where a row's text is: 'plain' in content, as every
-- row written before this migration has it (the default: adding the columns
-- rewrites no row), or 'deflate' in content_packed, as raw DEFLATE of the
-- UTF-8 text, with content left empty. A recall returns a row to 'plain' with
-- empty content.
--
-- No CHECK ties the columns together: adding one would scan the whole table
-- under an exclusive lock (and a NOT VALID one would not survive a rebuild's
-- copy as it is). Readers refuse a row whose encoding they do not know.
--
-- content_packed is already compressed, so PostgreSQL is told not to try
-- again (STORAGE EXTERNAL: moved out of line when large, never recompressed).
-- A rebuild's copy keeps the storage setting (LIKE ... INCLUDING ALL).
ALTER TABLE rm_messages
    ADD COLUMN content_encoding text NOT NULL DEFAULT 'plain',
    ADD COLUMN content_packed bytea;
ALTER TABLE rm_messages ALTER COLUMN content_packed SET STORAGE EXTERNAL;

---- create above / drop below ----

-- Going down drops the text of compressed rows: rebuild the history projection
-- (tellyou rebuild --projection history) with the older binary afterwards.

ALTER TABLE rm_messages
    DROP COLUMN content_packed,
    DROP COLUMN content_encoding;
