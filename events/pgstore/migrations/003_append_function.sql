-- One append transaction in one statement. tellyou_append runs the version
-- step of every append of a transaction, takes the next positions from
-- tellyou_log_head for the appends whose check passed and inserts their
-- events, all on the server: the client sends BEGIN, this call and COMMIT in
-- one round trip, so neither a stream row nor the log head's row is ever
-- held while the database waits for the client.
--
-- Appends (a_*): stream, expected version (0: the stream must not exist,
-- -1: any version, else the stream's current version) and event count, in
-- the order their rows are locked. Events (e_*): the 1-based append each
-- belongs to, in order, with its id, type, data and metadata.
--
-- versions[i] is append i's new stream version, NULL when its check failed
-- (nothing of it is stored); base is the position before the first event
-- inserted (NULL when none was).
CREATE FUNCTION tellyou_append(
    a_streams text[], a_expected bigint[], a_counts bigint[],
    e_append int[], e_ids uuid[], e_types text[], e_data text[], e_metadata text[],
    OUT versions bigint[], OUT base bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
    total bigint := 0;
    inserted bigint;
BEGIN
    versions := array_fill(NULL::bigint, ARRAY[cardinality(a_streams)]);
    FOR i IN 1 .. cardinality(a_streams) LOOP
        v := NULL;
        IF a_expected[i] = 0 THEN
            INSERT INTO tellyou_streams (stream_id, version) VALUES (a_streams[i], a_counts[i])
            ON CONFLICT (stream_id) DO NOTHING
            RETURNING tellyou_streams.version INTO v;
        ELSIF a_expected[i] < 0 THEN
            INSERT INTO tellyou_streams AS s (stream_id, version) VALUES (a_streams[i], a_counts[i])
            ON CONFLICT (stream_id) DO UPDATE SET version = s.version + EXCLUDED.version
            RETURNING s.version INTO v;
        ELSE
            UPDATE tellyou_streams SET version = tellyou_streams.version + a_counts[i]
            WHERE stream_id = a_streams[i] AND tellyou_streams.version = a_expected[i]
            RETURNING tellyou_streams.version INTO v;
        END IF;
        versions[i] := v;
        IF v IS NOT NULL THEN
            total := total + a_counts[i];
        END IF;
    END LOOP;
    IF total = 0 THEN
        RETURN;
    END IF;
    -- The log head's row lock, held to COMMIT, orders the transactions that
    -- append: see 002_log_head.sql.
    UPDATE tellyou_log_head SET position = position + total RETURNING position - total INTO base;
    INSERT INTO tellyou_events (position, stream_id, version, event_id, type, data, metadata)
    SELECT base + row_number() OVER (ORDER BY e.n), a_streams[e.a],
        versions[e.a] - a_counts[e.a] + row_number() OVER (PARTITION BY e.a ORDER BY e.n),
        e.id, e.type, e.data::json, e.metadata::json
    FROM unnest(e_append, e_ids, e_types, e_data, e_metadata) WITH ORDINALITY AS e(a, id, type, data, metadata, n)
    WHERE versions[e.a] IS NOT NULL;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    IF inserted <> total THEN
        RAISE EXCEPTION 'tellyou_append: inserted % of % events', inserted, total;
    END IF;
END
$$;
