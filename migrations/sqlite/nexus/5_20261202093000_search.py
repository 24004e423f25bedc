"""Full-text search: SQLite FTS5 tables kept current by triggers.

Hand-written (aerich cannot express virtual tables or triggers). ``search_messages`` and
``search_tickets`` are external-content tables over ``messages.text`` and ``tickets.subject``
(the text is not stored twice); ``search_contacts`` holds each contact's names, emails, phones
and addresses. The tokenizer folds accents (``remove_diacritics 2``); :mod:`nexus.search`
re-creates the tables with another tokenizer when ``search.language`` changes. Triggers fire
only when an indexed column changes.

No ``MODELS_STATE``: the models do not change, so aerich records the models as they are when
this runs, which stays right whatever order the lead gives the migrations at merge.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

TOKENIZER = "unicode61 remove_diacritics 2"

SQL = """
CREATE TABLE IF NOT EXISTS search_settings (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    language TEXT NOT NULL
);
INSERT OR IGNORE INTO search_settings (id, language) VALUES (1, 'simple');

CREATE VIRTUAL TABLE IF NOT EXISTS search_messages USING fts5(
    text, content='messages', content_rowid='id', tokenize='{tokenizer}');
CREATE VIRTUAL TABLE IF NOT EXISTS search_tickets USING fts5(
    subject, content='tickets', content_rowid='id', tokenize='{tokenizer}');
CREATE VIRTUAL TABLE IF NOT EXISTS search_contacts USING fts5(
    names, details, addresses, tokenize='{tokenizer}');

"""

#: Triggers that keep an external-content FTS5 table ({index}) in step with {table}.{column}.
EXTERNAL_CONTENT_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS {index}_insert AFTER INSERT ON {table}
WHEN NEW.{column} IS NOT NULL AND NEW.{column} <> '' BEGIN
    INSERT INTO {index} (rowid, {column}) VALUES (NEW.id, NEW.{column});
END;
CREATE TRIGGER IF NOT EXISTS {index}_delete AFTER DELETE ON {table}
WHEN OLD.{column} IS NOT NULL AND OLD.{column} <> '' BEGIN
    INSERT INTO {index} ({index}, rowid, {column}) VALUES ('delete', OLD.id, OLD.{column});
END;
CREATE TRIGGER IF NOT EXISTS {index}_update AFTER UPDATE OF {column} ON {table}
WHEN OLD.{column} IS NOT NEW.{column} BEGIN
    INSERT INTO {index} ({index}, rowid, {column})
        SELECT 'delete', OLD.id, OLD.{column} WHERE OLD.{column} IS NOT NULL AND OLD.{column} <> '';
    INSERT INTO {index} (rowid, {column}) SELECT NEW.id, NEW.{column} WHERE NEW.{column} IS NOT NULL AND NEW.{column} <> '';
END;
"""

#: Contacts' documents, from their rows and their identities.
CONTACT_DOCUMENTS = """
    INSERT INTO search_contacts (rowid, names, details, addresses)
    SELECT c.id,
           trim(coalesce(c.name, '') || ' ' || coalesce((SELECT group_concat(display_name, ' ')
                                                         FROM contact_identities WHERE contact_id = c.id), '')),
           trim(coalesce(c.email, '') || ' ' || coalesce(c.phone, '')),
           coalesce((SELECT group_concat(address, ' ') FROM contact_identities WHERE contact_id = c.id), '')
    FROM contacts c"""

#: One contact's document again ({contact} is replaced by an expression).
CONTACT_DOCUMENT = "DELETE FROM search_contacts WHERE rowid = {contact};" + CONTACT_DOCUMENTS + " WHERE c.id = {contact};"

CONTACT_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS search_contacts_insert AFTER INSERT ON contacts BEGIN {new}
END;
CREATE TRIGGER IF NOT EXISTS search_contacts_update AFTER UPDATE OF name, email, phone ON contacts
WHEN OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email OR OLD.phone IS NOT NEW.phone BEGIN {new}
END;
CREATE TRIGGER IF NOT EXISTS search_contacts_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM search_contacts WHERE rowid = OLD.id;
END;
CREATE TRIGGER IF NOT EXISTS search_identities_insert AFTER INSERT ON contact_identities BEGIN {new_contact}
END;
CREATE TRIGGER IF NOT EXISTS search_identities_update AFTER UPDATE OF address, display_name, contact_id ON contact_identities
WHEN OLD.address IS NOT NEW.address OR OLD.display_name IS NOT NEW.display_name OR OLD.contact_id IS NOT NEW.contact_id
BEGIN {old_contact} {new_contact}
END;
CREATE TRIGGER IF NOT EXISTS search_identities_delete AFTER DELETE ON contact_identities BEGIN {old_contact}
END;
"""

BACKFILL = """
INSERT INTO search_messages (search_messages) VALUES ('rebuild');
INSERT INTO search_tickets (search_tickets) VALUES ('rebuild');
""" + CONTACT_DOCUMENTS + ";"


def _sql() -> str:
    triggers = CONTACT_TRIGGERS.format(
        new=CONTACT_DOCUMENT.format(contact="NEW.id"),
        new_contact=CONTACT_DOCUMENT.format(contact="NEW.contact_id"),
        old_contact=CONTACT_DOCUMENT.format(contact="OLD.contact_id"),
    )
    external = "".join(EXTERNAL_CONTENT_TRIGGERS.format(index=index, table=table, column=column)
                       for index, table, column in (("search_messages", "messages", "text"),
                                                    ("search_tickets", "tickets", "subject")))
    return SQL.replace("{tokenizer}", TOKENIZER) + external + triggers + BACKFILL


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _sql()


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TRIGGER IF EXISTS search_messages_insert;
        DROP TRIGGER IF EXISTS search_messages_delete;
        DROP TRIGGER IF EXISTS search_messages_update;
        DROP TRIGGER IF EXISTS search_tickets_insert;
        DROP TRIGGER IF EXISTS search_tickets_delete;
        DROP TRIGGER IF EXISTS search_tickets_update;
        DROP TRIGGER IF EXISTS search_contacts_insert;
        DROP TRIGGER IF EXISTS search_contacts_update;
        DROP TRIGGER IF EXISTS search_contacts_delete;
        DROP TRIGGER IF EXISTS search_identities_insert;
        DROP TRIGGER IF EXISTS search_identities_update;
        DROP TRIGGER IF EXISTS search_identities_delete;
        DROP TABLE IF EXISTS search_messages;
        DROP TABLE IF EXISTS search_tickets;
        DROP TABLE IF EXISTS search_contacts;
        DROP TABLE IF EXISTS search_settings;"""
