"""Search reads the newest matches by walking the newest rows while matches are dense, then the index.

``nexus_search_recent`` (migration ``5_..._search``) sized its windows from an ``EXPLAIN`` of
the query, planned three statements per source, and, through a variable read before it was
set, never turned the primary-key walk off: a word the planner takes for common but that no
contact holds walked all 100,000 contacts (30 to 50 ms), and estimates for contacts' names,
emails and phones are exactly that kind of guess.

``nexus_search_newest`` measures instead of estimating. It walks the newest ``8 * wanted``
rows (at most 4,000), newest first (a common word is done there, reading a few hundred rows); from the share
of them that matched it prices the two ways on: walking on, about ``(wanted - found) /
density`` rows, or reading every remaining match through the GIN index, about ``density *
rows`` heap pages, each about three walked rows' worth (measured on the 1 M-message bench
database: 0.7 us per walked row, 2 us per bitmap match). It takes the cheaper, so the cost
is bounded by ``sqrt(3 * wanted * rows)`` rows whatever the planner believes. Ranks are
computed for the returned rows only, and JIT (compilation costs tens of milliseconds, more
than any of these statements) is off inside.

``nexus_search_recent`` stays defined (unused) so that a downgrade leaves migration 5 as it was.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

SQL = r"""
-- The ``wanted`` most recent rows of ``source`` that match, newest first, with their rank.
-- ``patterns`` (contacts only, lower case and unaccented) adds substring matches.
-- VOLATILE: it changes planner settings for its last statement.
CREATE OR REPLACE FUNCTION nexus_search_newest(source regclass, query tsquery, wanted INT, patterns TEXT[] DEFAULT NULL,
                                               head tsquery DEFAULT NULL, tail tsquery DEFAULT NULL)
RETURNS TABLE (id INT, owner_id INT, rank REAL) LANGUAGE plpgsql VOLATILE ROWS 100 SET jit = off AS $$
DECLARE
    index_scans TEXT := current_setting('enable_indexscan');
    seq_scans TEXT := current_setting('enable_seqscan');
    condition TEXT;                           -- for the index
    checked TEXT := 'ts_match_vq(s.vector, $1)';  -- per row walked: the same test, nothing to estimate
    -- The first window: enough rows to hold `wanted` matches of a common word, and few enough
    -- to cost little when a widened search (an agent who sees few tickets) asks for thousands.
    first_span INT := least(8 * wanted, 4000);
    span INT := first_span;
    below INT;          -- the next window holds ids below this (NULL: the newest)
    boundary INT;
    found INT := 0;
    seen BIGINT := 0;
    n INT;
    density FLOAT8;
    walk FLOAT8;
    substrings TEXT;
    lookup TEXT := 's.vector @@ $1';
    with_head INT;
    with_tail INT;
BEGIN
    IF wanted <= 0 THEN
        RETURN;
    END IF;
    IF patterns IS NOT NULL AND cardinality(patterns) > 0 THEN
        SELECT string_agg(format('s.haystack LIKE ($4)[%s]', i), ' AND ')
            INTO substrings FROM generate_series(1, cardinality(patterns)) i;
        checked := format('(%s OR (%s))', checked, substrings);
    END IF;
    LOOP
        -- Walk the newest `span` rows below `below`, newest first.
        RETURN QUERY EXECUTE format(
            'SELECT s.id, s.owner_id, ts_rank(s.vector, $1, 1) FROM ('
            '  SELECT s.id, s.owner_id, s.vector FROM ('
            '    SELECT * FROM %s w WHERE $2::INT IS NULL OR w.id < $2 ORDER BY w.id DESC LIMIT $3) s'
            '  WHERE %s ORDER BY s.id DESC LIMIT $5) s', source, checked)
            USING query, below, span, patterns, wanted - found;
        GET DIAGNOSTICS n = ROW_COUNT;
        found := found + n;
        IF found >= wanted THEN
            RETURN;
        END IF;
        EXECUTE format('SELECT w.id FROM %s w WHERE $1::INT IS NULL OR w.id < $1 ORDER BY w.id DESC OFFSET $2 - 1 LIMIT 1',
                       source) USING below, span INTO boundary;
        IF boundary IS NULL THEN
            RETURN;  -- every row was read
        END IF;
        below := boundary;
        seen := seen + span;
        density := found::FLOAT8 / seen;
        -- Walking on costs about (wanted - found) / density rows; reading every remaining
        -- match through the GIN index about density * below rows, each about three times the cost
        -- of a row walked (a heap page of its own). Walk while that is cheaper.
        walk := (wanted - found) / greatest(density, 1e-9);
        EXIT WHEN walk >= 3 * density * below;
        span := least(below::FLOAT8, 1.25 * walk + 100)::INT;
    END LOOP;
    -- The matches below `below`, through the index: as many rows as there are matches. A
    -- prefix is looked up as every word it begins (all of them, before any other word of the
    -- query narrows them down: 'me:*' is every message with a word in me-); when the other
    -- words (`head`, `tail` being the prefix) are far rarer in the newest rows, the index looks
    -- up those and each of their rows is checked for the prefix.
    IF head IS NOT NULL AND tail IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FILTER (WHERE ts_match_vq(w.vector, $1)), count(*) FILTER (WHERE ts_match_vq(w.vector, $2))'
                       ' FROM (SELECT w.vector FROM %s w ORDER BY w.id DESC LIMIT $3) w', source)
            USING head, tail, first_span INTO with_head, with_tail;
        IF 20 * with_head < with_tail THEN
            lookup := 's.vector @@ $6 AND ts_match_vq(s.vector, $1)';
        END IF;
    END IF;
    condition := CASE WHEN substrings IS NULL THEN lookup ELSE format('((%s) OR (%s))', lookup, substrings) END;
    PERFORM set_config('enable_indexscan', 'off', true), set_config('enable_seqscan', 'off', true);
    RETURN QUERY EXECUTE format(
        'SELECT s.id, s.owner_id, ts_rank(s.vector, $1, 1) FROM ('
        '  SELECT s.id, s.owner_id, s.vector FROM %s s WHERE %s AND s.id < $2 ORDER BY s.id DESC LIMIT $5) s',
        source, condition)
        USING query, below, NULL::INT, patterns, wanted - found, head;
    PERFORM set_config('enable_indexscan', index_scans, true), set_config('enable_seqscan', seq_scans, true);
END $$;

-- Nothing plans from these estimates any more; at the default target, planning a search
-- statement reads a tenth of the statistics (a prefix is compared with every element kept:
-- about 1 ms per statement on search_messages at target 1000).
ALTER TABLE search_messages ALTER COLUMN vector SET STATISTICS -1;
ALTER TABLE search_tickets ALTER COLUMN vector SET STATISTICS -1;
ALTER TABLE search_contacts ALTER COLUMN vector SET STATISTICS -1;
ANALYZE search_messages;
ANALYZE search_tickets;
ANALYZE search_contacts;
"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    return SQL


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE search_messages ALTER COLUMN vector SET STATISTICS 1000;
        ALTER TABLE search_tickets ALTER COLUMN vector SET STATISTICS 1000;
        ALTER TABLE search_contacts ALTER COLUMN vector SET STATISTICS 1000;
        DROP FUNCTION IF EXISTS nexus_search_newest(regclass, tsquery, INT, TEXT[], tsquery, tsquery);"""
