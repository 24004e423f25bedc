"""Full-text search: tsvector documents with GIN indexes, kept current by triggers.

Hand-written (aerich cannot express extensions, functions or triggers). The documents live in
side tables, not in ``messages``, ``tickets`` or ``contacts``: those rows are updated often
(statuses, ``last_message_at``), and every non-HOT update of a row would otherwise insert all
its lexemes into the GIN index again. Triggers fire only when an indexed column changes.

``nexus_search_config()`` holds the installation's text search configuration
(``search.language``, ``simple`` here); :mod:`nexus.search` replaces it and re-indexes when the
setting changes. ``unaccent`` is only STABLE, so ``nexus_unaccent`` is the usual IMMUTABLE
wrapper with the dictionary named explicitly.

No ``MODELS_STATE``: the models do not change, so aerich records the models as they are when
this runs, which stays right whatever order the lead gives the migrations at merge.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

EXTENSIONS = ("unaccent", "pg_trgm")


async def _extension_schema(db: BaseDBAsyncClient, name: str) -> str | None:
    _, rows = await db.execute_query(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = $1",
        [name],
    )
    return rows[0]["nspname"] if rows else None


async def _require_extensions(db: BaseDBAsyncClient) -> dict[str, str]:
    """Create the extensions search needs, or fail with what the operator must do."""
    schemas = {}
    for name in EXTENSIONS:
        if (schema := await _extension_schema(db, name)) is None:
            try:
                await db.execute_script(f"CREATE EXTENSION IF NOT EXISTS {name}")
            except Exception as exc:  # noqa: BLE001 - reported with the fix
                _, rows = await db.execute_query("SELECT current_database() AS name")
                raise RuntimeError(
                    f"search needs the PostgreSQL extensions {' and '.join(EXTENSIONS)}, and creating {name} failed "
                    f"({exc}); as a superuser (or the database owner, on PostgreSQL 13+) run in database "
                    f"{rows[0]['name']!r}: CREATE EXTENSION IF NOT EXISTS unaccent; "
                    f"CREATE EXTENSION IF NOT EXISTS pg_trgm; then migrate again"
                ) from None
            schema = await _extension_schema(db, name)
        schemas[name] = '"' + str(schema).replace('"', '""') + '"'
    return schemas


SQL = r"""
CREATE OR REPLACE FUNCTION nexus_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT {unaccent}.unaccent('{unaccent}.unaccent'::regdictionary, $1) $$;

CREATE OR REPLACE FUNCTION nexus_search_config() RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 'pg_catalog.simple'::regconfig $$;

CREATE OR REPLACE FUNCTION nexus_search_vector(body text, weight "char") RETURNS tsvector
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT setweight(to_tsvector(nexus_search_config(), nexus_unaccent(coalesce(body, ''))), weight) $$;

CREATE OR REPLACE FUNCTION nexus_search_query(words text) RETURNS tsquery
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT to_tsquery(nexus_search_config(), nexus_unaccent(words)) $$;

-- owner_id: the ticket a row finds (for contacts, the contact itself).
CREATE TABLE IF NOT EXISTS search_messages (
    id INT NOT NULL PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    owner_id INT NOT NULL,
    vector TSVECTOR NOT NULL
);
CREATE TABLE IF NOT EXISTS search_tickets (
    id INT NOT NULL PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    owner_id INT NOT NULL,
    vector TSVECTOR NOT NULL
);
CREATE TABLE IF NOT EXISTS search_contacts (
    id INT NOT NULL PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    owner_id INT NOT NULL,
    vector TSVECTOR NOT NULL,
    -- lower-cased, unaccented names, emails, phones (also as digits only) and addresses,
    -- for substring matching through pg_trgm
    haystack TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS search_settings (
    id INT NOT NULL PRIMARY KEY CHECK (id = 1),
    language TEXT NOT NULL
);
INSERT INTO search_settings (id, language) VALUES (1, 'simple') ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION nexus_index_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.text IS NULL OR NEW.text = '' THEN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM search_messages WHERE id = NEW.id;
        END IF;
    ELSE
        INSERT INTO search_messages (id, owner_id, vector) VALUES (NEW.id, NEW.ticket_id, nexus_search_vector(NEW.text, 'D'))
        ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id, vector = EXCLUDED.vector;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION nexus_index_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.subject IS NULL OR NEW.subject = '' THEN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM search_tickets WHERE id = NEW.id;
        END IF;
    ELSE
        INSERT INTO search_tickets (id, owner_id, vector) VALUES (NEW.id, NEW.id, nexus_search_vector(NEW.subject, 'A'))
        ON CONFLICT (id) DO UPDATE SET vector = EXCLUDED.vector;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION nexus_index_contact(contact INT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO search_contacts (id, owner_id, vector, haystack)
    SELECT c.id, c.id,
           nexus_search_vector(concat_ws(' ', c.name, i.names), 'A')
           || nexus_search_vector(concat_ws(' ', c.email, c.phone, regexp_replace(c.phone, '\D', '', 'g')), 'B')
           || nexus_search_vector(i.addresses, 'C'),
           lower(nexus_unaccent(concat_ws(' ', c.name, c.email, c.phone, regexp_replace(c.phone, '\D', '', 'g'),
                                          i.names, i.addresses)))
    FROM contacts c
    LEFT JOIN LATERAL (SELECT string_agg(display_name, ' ') AS names, string_agg(address, ' ') AS addresses
                       FROM contact_identities WHERE contact_id = c.id) i ON true
    WHERE c.id = contact
    ON CONFLICT (id) DO UPDATE SET vector = EXCLUDED.vector, haystack = EXCLUDED.haystack
$$;

CREATE OR REPLACE FUNCTION nexus_index_contact_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nexus_index_contact(NEW.id);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION nexus_index_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM nexus_index_contact(OLD.contact_id);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.contact_id <> OLD.contact_id) THEN
        PERFORM nexus_index_contact(NEW.contact_id);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS nexus_index_message_insert ON messages;
CREATE TRIGGER nexus_index_message_insert AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.text IS NOT NULL AND NEW.text <> '') EXECUTE FUNCTION nexus_index_message();
DROP TRIGGER IF EXISTS nexus_index_message_update ON messages;
CREATE TRIGGER nexus_index_message_update AFTER UPDATE OF text, ticket_id ON messages
    FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.ticket_id <> NEW.ticket_id)
    EXECUTE FUNCTION nexus_index_message();
DROP TRIGGER IF EXISTS nexus_index_ticket_insert ON tickets;
CREATE TRIGGER nexus_index_ticket_insert AFTER INSERT ON tickets
    FOR EACH ROW WHEN (NEW.subject IS NOT NULL AND NEW.subject <> '') EXECUTE FUNCTION nexus_index_ticket();
DROP TRIGGER IF EXISTS nexus_index_ticket_update ON tickets;
CREATE TRIGGER nexus_index_ticket_update AFTER UPDATE OF subject ON tickets
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject) EXECUTE FUNCTION nexus_index_ticket();
DROP TRIGGER IF EXISTS nexus_index_contact_insert ON contacts;
CREATE TRIGGER nexus_index_contact_insert AFTER INSERT ON contacts
    FOR EACH ROW EXECUTE FUNCTION nexus_index_contact_row();
DROP TRIGGER IF EXISTS nexus_index_contact_update ON contacts;
CREATE TRIGGER nexus_index_contact_update AFTER UPDATE OF name, email, phone ON contacts
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email
                       OR OLD.phone IS DISTINCT FROM NEW.phone)
    EXECUTE FUNCTION nexus_index_contact_row();
DROP TRIGGER IF EXISTS nexus_index_identity_insert ON contact_identities;
CREATE TRIGGER nexus_index_identity_insert AFTER INSERT OR DELETE ON contact_identities
    FOR EACH ROW EXECUTE FUNCTION nexus_index_identity();
DROP TRIGGER IF EXISTS nexus_index_identity_update ON contact_identities;
CREATE TRIGGER nexus_index_identity_update AFTER UPDATE OF address, display_name, contact_id ON contact_identities
    FOR EACH ROW WHEN (OLD.address IS DISTINCT FROM NEW.address OR OLD.display_name IS DISTINCT FROM NEW.display_name
                       OR OLD.contact_id <> NEW.contact_id)
    EXECUTE FUNCTION nexus_index_identity();

-- Every document again, from the rows: the backfill below, and after a change of language.
CREATE OR REPLACE FUNCTION nexus_search_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE search_messages, search_tickets, search_contacts;
    INSERT INTO search_messages (id, owner_id, vector)
        SELECT id, ticket_id, nexus_search_vector(text, 'D') FROM messages WHERE text IS NOT NULL AND text <> '';
    INSERT INTO search_tickets (id, owner_id, vector)
        SELECT id, id, nexus_search_vector(subject, 'A') FROM tickets WHERE subject IS NOT NULL AND subject <> '';
    PERFORM nexus_index_contact(id) FROM contacts;
    ANALYZE search_messages;
    ANALYZE search_tickets;
    ANALYZE search_contacts;
END $$;

-- The ``wanted`` most recent rows of ``source`` that match, newest first, with their rank.
-- It reads a window of the newest ids, sized from the planner's estimate of how many rows
-- match (a very common word: a few thousand ids, walked newest first; a rare word: the whole
-- table, through the GIN index), and widens it if that was too few. EXECUTE plans each window
-- with its real bounds. ``patterns`` (contacts only, lower case and unaccented) adds
-- substring matches. VOLATILE only because EXPLAIN is not allowed elsewhere.
CREATE OR REPLACE FUNCTION nexus_search_recent(source regclass, query tsquery, wanted INT, patterns TEXT[] DEFAULT NULL)
RETURNS TABLE (id INT, owner_id INT, rank REAL) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    index_scans TEXT := current_setting('enable_indexscan');
    newest INT;
    plan JSON;
    estimate FLOAT8;
    upper_bound INT;
    span INT;
    found INT := 0;
    n INT;
    condition TEXT := 's.vector @@ $1';
BEGIN
    IF patterns IS NOT NULL AND cardinality(patterns) > 0 THEN
        -- one LIKE per pattern: GIN cannot use LIKE ALL (array)
        SELECT '(s.vector @@ $1 OR (' || string_agg(format('s.haystack LIKE ($4)[%s]', i), ' AND ') || '))'
            INTO condition FROM generate_series(1, cardinality(patterns)) i;
    END IF;
    EXECUTE format('SELECT max(id) FROM %s', source) INTO newest;
    IF newest IS NULL OR wanted <= 0 THEN
        RETURN;
    END IF;
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM %s s WHERE %s', source, condition)
        USING query, NULL::INT, NULL::INT, patterns INTO plan;
    estimate := greatest((plan -> 0 -> 'Plan' ->> 'Plan Rows')::FLOAT8, 1);
    -- Unless the window surely holds plenty of matches (a common word, whose estimate is
    -- good), walking the primary key newest first "until enough match" can read the whole
    -- window: a rare word's estimate is a guess. Bitmaps (GIN, and the id range) cost what
    -- matches.
    IF estimate * span / newest < 4 * wanted THEN
        PERFORM set_config('enable_indexscan', 'off', true);
    END IF;
    span := least(newest::FLOAT8, greatest(20000, 2.0 * wanted * newest / estimate))::INT;
    upper_bound := newest;
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT s.id, s.owner_id, ts_rank(s.vector, $1, 1) FROM %s s'
            ' WHERE %s AND s.id > $2 AND s.id <= $3 ORDER BY s.id DESC LIMIT $5', source, condition)
            USING query, upper_bound - span, upper_bound, patterns, wanted - found;
        GET DIAGNOSTICS n = ROW_COUNT;
        found := found + n;
        EXIT WHEN found >= wanted OR upper_bound - span <= 0;
        upper_bound := upper_bound - span;
        span := span * 4;
    END LOOP;
    PERFORM set_config('enable_indexscan', index_scans, true);
END $$;

-- Estimates of how many rows hold a word come from these statistics: with the default
-- target, only the few hundred most common words are known and a middling one is taken for
-- rare.
ALTER TABLE search_messages ALTER COLUMN vector SET STATISTICS 1000;
ALTER TABLE search_tickets ALTER COLUMN vector SET STATISTICS 1000;
ALTER TABLE search_contacts ALTER COLUMN vector SET STATISTICS 1000;

SELECT nexus_search_rebuild();

-- Every search reads a GIN index's pending list (new entries not yet merged) in full; the
-- default limit of 4 MB would cost milliseconds per search between two vacuums.
CREATE INDEX IF NOT EXISTS idx_search_messages_vector ON search_messages USING gin (vector)
    WITH (gin_pending_list_limit = 256);
CREATE INDEX IF NOT EXISTS idx_search_tickets_vector ON search_tickets USING gin (vector)
    WITH (gin_pending_list_limit = 256);
CREATE INDEX IF NOT EXISTS idx_search_contacts_vector ON search_contacts USING gin (vector)
    WITH (gin_pending_list_limit = 256);
CREATE INDEX IF NOT EXISTS idx_search_contacts_haystack ON search_contacts USING gin (haystack {pg_trgm}.gin_trgm_ops)
    WITH (gin_pending_list_limit = 256);
"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    schemas = await _require_extensions(db)
    return SQL.replace("{unaccent}", schemas["unaccent"]).replace("{pg_trgm}", schemas["pg_trgm"])


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TRIGGER IF EXISTS nexus_index_message_insert ON messages;
        DROP TRIGGER IF EXISTS nexus_index_message_update ON messages;
        DROP TRIGGER IF EXISTS nexus_index_ticket_insert ON tickets;
        DROP TRIGGER IF EXISTS nexus_index_ticket_update ON tickets;
        DROP TRIGGER IF EXISTS nexus_index_contact_insert ON contacts;
        DROP TRIGGER IF EXISTS nexus_index_contact_update ON contacts;
        DROP TRIGGER IF EXISTS nexus_index_identity_insert ON contact_identities;
        DROP TRIGGER IF EXISTS nexus_index_identity_update ON contact_identities;
        DROP TABLE IF EXISTS search_messages, search_tickets, search_contacts, search_settings;
        DROP FUNCTION IF EXISTS nexus_search_recent(regclass, tsquery, INT, TEXT[]);
        DROP FUNCTION IF EXISTS nexus_search_rebuild();
        DROP FUNCTION IF EXISTS nexus_index_identity();
        DROP FUNCTION IF EXISTS nexus_index_contact_row();
        DROP FUNCTION IF EXISTS nexus_index_contact(INT);
        DROP FUNCTION IF EXISTS nexus_index_ticket();
        DROP FUNCTION IF EXISTS nexus_index_message();
        DROP FUNCTION IF EXISTS nexus_search_query(text);
        DROP FUNCTION IF EXISTS nexus_search_vector(text, "char");
        DROP FUNCTION IF EXISTS nexus_search_config();
        DROP FUNCTION IF EXISTS nexus_unaccent(text);"""
