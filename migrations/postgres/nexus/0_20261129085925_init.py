from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "agents" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "email" VARCHAR(320) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255),
    "role" VARCHAR(16) NOT NULL,
    "is_active" BOOL NOT NULL,
    "available" BOOL NOT NULL
);
COMMENT ON COLUMN "agents"."role" IS 'ADMIN: admin\nAGENT: agent';
COMMENT ON COLUMN "agents"."available" IS 'Takes part in round-robin auto-assignment.';
CREATE TABLE IF NOT EXISTS "api_tokens" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(100) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "prefix" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_used_at" TIMESTAMPTZ,
    "expires_at" TIMESTAMPTZ,
    "agent_id" INT NOT NULL REFERENCES "agents" ("id") ON DELETE CASCADE
);
COMMENT ON COLUMN "api_tokens"."token_hash" IS 'SHA-256 of the token; the token itself is shown once and never stored.';
CREATE TABLE IF NOT EXISTS "canned_responses" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "shortcut" VARCHAR(64) NOT NULL UNIQUE,
    "title" VARCHAR(200),
    "body" TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS "channels" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(64) NOT NULL UNIQUE,
    "type" VARCHAR(64) NOT NULL,
    "plugin" VARCHAR(100),
    "enabled" BOOL NOT NULL,
    "state" VARCHAR(16) NOT NULL,
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ,
    "details" JSONB NOT NULL
);
COMMENT ON TABLE "channels" IS 'A configured channel instance, mirrored from the configuration at start-up.';
CREATE TABLE IF NOT EXISTS "channel_state" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "key" VARCHAR(200) NOT NULL,
    "value" JSONB,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "channel_id" INT NOT NULL REFERENCES "channels" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_channel_sta_channel_74a4b7" UNIQUE ("channel_id", "key")
);
COMMENT ON TABLE "channel_state" IS 'Small JSON values a channel plugin keeps across restarts (offsets, IMAP UIDs).';
CREATE TABLE IF NOT EXISTS "contacts" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(255),
    "email" VARCHAR(320),
    "phone" VARCHAR(64),
    "attributes" JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS "contact_identities" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "channel_type" VARCHAR(64) NOT NULL,
    "key" VARCHAR(320) NOT NULL,
    "address" VARCHAR(320) NOT NULL,
    "display_name" VARCHAR(255),
    "profile" JSONB NOT NULL,
    "contact_id" INT NOT NULL REFERENCES "contacts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_contact_ide_channel_6d5b3d" UNIQUE ("channel_type", "key")
);
COMMENT ON TABLE "contact_identities" IS 'A contact on one channel type. ``key`` is canonical (one person, one key);';
CREATE TABLE IF NOT EXISTS "inbound_events" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "payload" TEXT NOT NULL,
    "headers" JSONB NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "error" TEXT,
    "attempts" INT NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL,
    "processed_at" TIMESTAMPTZ,
    "channel_id" INT NOT NULL REFERENCES "channels" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_inbound_eve_status_9b749c" ON "inbound_events" ("status");
COMMENT ON TABLE "inbound_events" IS 'A raw webhook payload, stored before it is processed: the provider gets its 200 as soon';
CREATE TABLE IF NOT EXISTS "pending_statuses" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "external_id" VARCHAR(255) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "at" TIMESTAMPTZ,
    "error_code" VARCHAR(100),
    "error_text" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "channel_id" INT NOT NULL REFERENCES "channels" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_pending_sta_channel_d54807" ON "pending_statuses" ("channel_id", "external_id");
COMMENT ON COLUMN "pending_statuses"."status" IS 'RECEIVED: received\nQUEUED: queued\nSENDING: sending\nSENT: sent\nDELIVERED: delivered\nREAD: read\nFAILED: failed';
COMMENT ON TABLE "pending_statuses" IS 'A delivery-status report for a message id we do not know yet; applied when it appears.';
CREATE TABLE IF NOT EXISTS "teams" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(100) NOT NULL UNIQUE,
    "auto_assign" BOOL NOT NULL,
    "last_assigned_agent_id" INT
);
COMMENT ON COLUMN "teams"."auto_assign" IS 'Assign new tickets of this team round-robin among its available agents.';
COMMENT ON COLUMN "teams"."last_assigned_agent_id" IS 'The agent who got the last round-robin assignment.';
CREATE TABLE IF NOT EXISTS "tickets" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "status" VARCHAR(16) NOT NULL,
    "priority" VARCHAR(16) NOT NULL,
    "subject" VARCHAR(500),
    "active_key" VARCHAR(64) UNIQUE,
    "snoozed_until" TIMESTAMPTZ,
    "first_response_at" TIMESTAMPTZ,
    "resolved_at" TIMESTAMPTZ,
    "last_message_at" TIMESTAMPTZ,
    "assignee_id" INT REFERENCES "agents" ("id") ON DELETE SET NULL,
    "channel_id" INT NOT NULL REFERENCES "channels" ("id") ON DELETE RESTRICT,
    "contact_id" INT NOT NULL REFERENCES "contacts" ("id") ON DELETE CASCADE,
    "identity_id" INT NOT NULL REFERENCES "contact_identities" ("id") ON DELETE CASCADE,
    "team_id" INT REFERENCES "teams" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_tickets_contact_a25892" ON "tickets" ("contact_id", "channel_id", "status");
CREATE INDEX IF NOT EXISTS "idx_tickets_last_me_413fcc" ON "tickets" ("last_message_at", "id");
CREATE INDEX IF NOT EXISTS "idx_tickets_status_809c4a" ON "tickets" ("status", "snoozed_until");
COMMENT ON COLUMN "tickets"."status" IS 'OPEN: open\nPENDING: pending\nSNOOZED: snoozed\nRESOLVED: resolved';
COMMENT ON COLUMN "tickets"."priority" IS 'LOW: low\nNORMAL: normal\nHIGH: high\nURGENT: urgent';
COMMENT ON COLUMN "tickets"."active_key" IS '``\"<contact id>:<channel id>\"`` while the ticket is unresolved, NULL once resolved. Its';
CREATE TABLE IF NOT EXISTS "messages" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "direction" VARCHAR(16) NOT NULL,
    "private" BOOL NOT NULL,
    "text" TEXT,
    "html" TEXT,
    "external_id" VARCHAR(255),
    "reply_to_external_id" VARCHAR(255),
    "status" VARCHAR(16) NOT NULL,
    "error_code" VARCHAR(100),
    "error_text" TEXT,
    "attempts" INT NOT NULL,
    "auto_submitted" BOOL NOT NULL,
    "reactions" JSONB NOT NULL,
    "metadata" JSONB NOT NULL,
    "provider_timestamp" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "status_changed_at" TIMESTAMPTZ,
    "sent_at" TIMESTAMPTZ,
    "delivered_at" TIMESTAMPTZ,
    "read_at" TIMESTAMPTZ,
    "failed_at" TIMESTAMPTZ,
    "edited_at" TIMESTAMPTZ,
    "next_attempt_at" TIMESTAMPTZ,
    "author_id" INT REFERENCES "agents" ("id") ON DELETE SET NULL,
    "channel_id" INT NOT NULL REFERENCES "channels" ("id") ON DELETE RESTRICT,
    "reply_to_id" INT REFERENCES "messages" ("id") ON DELETE SET NULL,
    "sender_id" INT REFERENCES "contact_identities" ("id") ON DELETE SET NULL,
    "ticket_id" INT NOT NULL REFERENCES "tickets" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_messages_channel_faf249" UNIQUE ("channel_id", "external_id")
);
CREATE INDEX IF NOT EXISTS "idx_messages_ticket__327281" ON "messages" ("ticket_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_messages_status_c23f7b" ON "messages" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_messages_status_173267" ON "messages" ("status", "status_changed_at");
COMMENT ON COLUMN "messages"."direction" IS 'INBOUND: inbound\nOUTBOUND: outbound';
COMMENT ON COLUMN "messages"."external_id" IS 'The provider''s id; unique per channel, which is what deduplicates redeliveries.';
COMMENT ON COLUMN "messages"."status" IS 'RECEIVED: received\nQUEUED: queued\nSENDING: sending\nSENT: sent\nDELIVERED: delivered\nREAD: read\nFAILED: failed';
COMMENT ON COLUMN "messages"."next_attempt_at" IS 'When a queued reply is due (again): a retry''s backoff, or its turn after an earlier reply.';
CREATE TABLE IF NOT EXISTS "attachments" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "filename" VARCHAR(255) NOT NULL,
    "content_type" VARCHAR(255) NOT NULL,
    "size" BIGINT NOT NULL,
    "storage_key" VARCHAR(500),
    "sha256" VARCHAR(64),
    "content_id" VARCHAR(255),
    "note" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "message_id" INT NOT NULL REFERENCES "messages" ("id") ON DELETE CASCADE
);
COMMENT ON COLUMN "attachments"."storage_key" IS 'Where the bytes are in the attachment storage; NULL for a placeholder (see ``note``).';
CREATE TABLE IF NOT EXISTS "ticket_labels" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(100) NOT NULL,
    "ticket_id" INT NOT NULL REFERENCES "tickets" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_ticket_labe_ticket__97b855" UNIQUE ("ticket_id", "name")
);
CREATE INDEX IF NOT EXISTS "idx_ticket_labe_name_51d014" ON "ticket_labels" ("name");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS "team_members" (
    "teams_id" INT NOT NULL REFERENCES "teams" ("id") ON DELETE CASCADE,
    "agent_id" INT NOT NULL REFERENCES "agents" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS "uidx_team_member_teams_i_0eab75" ON "team_members" ("teams_id", "agent_id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXVtz2zYW/isYvTSZcTKJEztZp9MZxVESbX3J2nLTadyhIRGSsCYBlQTtqN389wXA+1"
    "WkRMoUjRePReKA5HdwOXf80yPou2M/788QYb0j8E+PQBPxf2LX90APLhbBVfGbwbEh20HR"
    "Ql6CY5tZcCK6mULDRvySjuyJhRcMU8KvEscwxEU64Q0xmYWXHIL/cpDG6AyxObL4jW9/8s"
    "uY6Og7sv2fi1ttipGhx94T6+LZ8rrGlgt5bUjYR9lQPG2sTajhmCRsvFiyOSVBa+x+If8O"
    "ZEGGRPfMcsTri7fzvtP/IvdNwybuK0ZodDSFjsEinzvWwms9TTs7H2mXg5Gm9SoANKFEgI"
    "sF1OLrZ+IVnu2/fP3m9dtXh6/f8ibyNYMrb364jw6BcQklPGej3g95HzLotpAYh6BOLCSQ"
    "0CBLg/uB32HYRNkIxykTSOse6XP/nyTuPspFwPsXQuTD0bYN6PkH6ufEWHosL8B5NDwdXI"
    "76p1/E40zb/suQ+PVHA3FnX15dJq4+OXwqrlM+kdz5FXQCvg5Hn4H4Cf44PxtIeKnNZpZ8"
    "Ythu9EdPvBN0GNUIvdegHhmd/lUfNd4y5Lqz0NfkepxScb0tXPcxirDde/vIQg9djsT5fT"
    "yHVjav/fYJLnO0dpGvJvyuGYjM2Fysni9eFDD2t/7F8ef+xRPeKsGtM+/WvnvvRwxfZEJs"
    "VAE4IKgH4YfdqGL4vtovgy9vlYuvvBfHdwFt+55aujaH9rwKzinCtfD20GzpgD44KDOgDw"
    "7yB7S4FwfcokbOgjEgjimxHvJ3gmSCUpj7tNtbPFwBtVcN7l7/w+nw7AhA3cTkmvQ/Dc5G"
    "/FfQU0U2vDwswYWXyT0gZIK4FecBtjUuaeO7DEa8pxxjSHIE4ChdggljTtgUF/w1p4ERXw"
    "Dt+/Pzk9gu/H44SmB8dfp+wLGX0PNGmLkKhCchh4DDO74oSwSqAR6jazXgvRG8RTZYQIsB"
    "TIBFHaI/s+iY/y/Eh2d8tcQzYvIp8Dw5ByqSbo2BQmmc3kY0HHFhDCe395Av+7E7IacZvU"
    "XEzmCzR/fx1wtkQAlamqWe1rzAI9HLDgpEP/wB7F/NEhlNZNt8MdwMpFO3k93bYktB5A55"
    "rhIxPLlFbDOoRrKPDiEl5iHdp3kzM33L3DezJyuCZga2p5AsR1T8TYkj2QDzbnZOts5DV8"
    "BFdWRocVOe/42WGG18YIaT2RwjywWRWhL/W7QMwNVcm1nAG++elIW8e2zOV/zZ3CfRIj1y"
    "pPmbIHdRPu5fHvc/SB1WS1rb5JAwIeH96t4Xi+9LrKcZBsrIUptvo1xgLVzWlZ2yM3ZKZb"
    "sIdYxStouXBbaLl2nbhZw0lRXrOFV7rRi9y8/9Z/sHh4BOAZ/OQL73u/BfgJmNjCnANrDn"
    "9J4AyvcQAIkOCLpDFrAZtZCelobr67aQ44evSzD88HUuv8WthCnFQlP8vZINJaDo4pSqXW"
    "1XfpV86HfTwl7Gr2JAm2mOvRbfk7Q1cL6dSkLbGZ3hSklzGn1fYN7dGnyOUyout5nLUd2n"
    "pEAfJVkt1u/Ccl2DZJ8yzyUgTuP7kUtGeEZ+RSX1+iB8ZcfQLVDtLXgfaJexYZWpav/It3"
    "huaIMp1NcZg5O5mRNSFN7cK9LZg2ZKae+W0j7FXMKuqLhHaTqoaTTip+VPZGJ5kEBVwDpJ"
    "p/Auh7eN/87yDuJZ7orhU2xPInjR7Jrxr/39V6/e7L94dfj24PWbNwdvXwSLR/pW0Sryfv"
    "hJLCQx8NNOWWEp4RuQtElXGOAJshaHffS+8g0LSdPReMmQDSD/hYm8EG6QwPugd+Ds6uQE"
    "TKkFIFgYcILm1NCRBZ7YCIGbG0IZurl5mjZYNfaUwkl4UMpieVBgsTxIWyztOdw/OKw0Gg"
    "KKFg+ENde5+k2E/uaQJRmt3lIyRaQO4NzIfiImUhrkEfqes5v47bsAb5G5YPD7KGYp8EF8"
    "ctr//WnMWnByfvbJbx4B/fjk/L0yzCrDrB/HUs2UEydSxpzVxhwzjPTZzJxTPmSobQiXNe"
    "jEB1eLTDrHkBCkXyB7wT8B9dJmnUSDvQLTzkQ21SyvrbLvdMu+o/bSx7iXquSxrnG9TPKY"
    "PacWmzgZPC9SuEOa9gYHtUbjZpjl5dvkhF/5BF1QBLeQoDemeob5MF/P9tt3wi6+DUW7Qh"
    "pGkxLsXIidRi9DdPXuFMqsbptysmqvDzjMUzxzLKQDjxRgT73ZAya2LBHjB6YWNaWZ1W8u"
    "8wAAFMZWaLFnziJtrK25byU9K+l5R9aqHZWjlPT8GLleRnp+2PSFbkvNFYMeOhzs0ECegO"
    "HMMKkCb0jRPaWkkcwbRMSnZwhYhdnmEapW55rXoZ7UmNzPBeIsV2tRBAncwNe6Fsi9UOrv"
    "bWdY1579InMZkFBPqqjbcaouLB/bdm6HCK6bgBIlVrkJ7ZEo04qEjhjERkZK/L8vz8+yOR"
    "whSfIWTxj4HzCw3ZhXu/fz1CETaZkYO9hgmNjPxWN/aWqRK2C2gKh48iXnWYKBooOKBq/E"
    "JqTdQcPZsLCGZ8669PeoHRNeS5XXwGQsisxo6M5PEFgbrqHb1eCuW6kiD1mwZScxWiCi80"
    "40MQ8de0OsvridXcq+uorYVkvb7AxCzbsw3JU9148RLPyrnBlaoMas9mhcmtAwgNjggLtF"
    "ARg4H1zlHtwitOCXJxa1bcB3ROFlsMETOp3afJTsgeFp/wu4Gn6wMyLQ6+8+w6/xzf9wcV"
    "8E//+pPB0P6OmomLWxSbZG2xaPLXi15TSqogYEBBspAbuj2tUm7Ss/Trkx310/jr+fVtom"
    "4kQqjnx1HHlk994sjjwS8LFjCJeNI48PrjbFkVPCXEEzJb16dwoFV7eNihjvliSoYl66tm"
    "uqmJfHyPXWxby0TBvZQtLwlk8baTXAzRw3wkGqNIADgu4BXH9kEWT8+WOHZZnf800XcSrl"
    "xHw4JybWEWGY4U1dmK6cP3R7W+7gDq4cKK10oCTGVa4WGh15q7RRLT7oS2aHCEpARfFnFH"
    "g6BGefg5ubW7S8uRH1oSeQUIIn0ABPRLsFsmxK9iQNb/P0XcqPUl/X1+Tmhkt1fFGwXYJ7"
    "WSTIQguDfyiY0T2AvvMHGUsAbZlnsrDoHRaFgETIEJjBOwQwW+mL0fzIW+WQUWp4axerHV"
    "XIlBr+GLlexWVRNU8iSddBd2z9Wo3ydDepkXtSShWEIyQK5XIo69heGHCpVbXfJem6ZwVp"
    "xI7HhWlR87iKFSRCokwgtZhAkoUvXWWvguYRJ1I+/hI+/tALvKGPP+xoxxAu7eOPDa6qPn"
    "51mqcy1LXXUBdLykhb6ZI5G7kmunSeSBnzHJ9m4B6N55TeggVcGhTqe96xbGCMplSUx2bC"
    "Jsa33Akf+Eg/ilvAZnywiGPeRGinMI/Z1B0YCVtdI8+5JtIex6ksei8tfdQ0MePDbU8eMg"
    "f9R/FGkHEQsMHbU/8ZojrM0gbS2HeP2Vx2L/P/romo+U0XYuxSS9KIit+iT2EVhEtVT6aF"
    "Rj2P2Wlk8zNuIySd0I62nW87R1D3T9QtKbtHSJTsXrvsbgdpWFUS/J1G7QOpNcZPQGsK9K"
    "az+ysn9quc/g3WGMg3dHORJZLmn0EXIenMiTMb7pshoBaaIHy3lh8kQaocIW1xhJRxfwWi"
    "9RqMT9Kq0hjt8XilOa2ydFSWTssseG3N0vGteWnLS8TOl2t0iRoU683SiWVwc8ESWQRK+J"
    "KBQ988k51oFwlO4a2+RWR7/upM88SijNvuf5p45MyjV7aLbdoudMxFK9+omlbdBsQxU0tJ"
    "wvkY6aDNtgwOxvvzq7MPR8CzWF6T86uRd4k6TF5LWhAfRs9bWPgus1xeYWXCCNUWKxMGV3"
    "a2NCHjS1QVpdpvr3TqNex2zMwQW/Kx9tsrrKtjHd28Mxf3HJtRnKzFyPdGEUfNTzbA+jvg"
    "PlLEWvtx2Xvgfo4ncze+GjKgI91ZGHgCxTGsFuLyIL5DFkZ2umROA/1vP8xFOI6WXMTT1h"
    "wPefQtHhhtijIqMoyvlq6aN5Jn+Cp8Y1tFM3nvYnA8GP424OKU38M1+c/V4Epc4Y93xO/L"
    "wdmH4dmnI2C7pnh5ZSR/smvyYXDCO7gQBN68ETQXg77sE/L/P/aHJ+K28KmilohrbunWCd"
    "UrRe3Fqbo3m5qp2S1Bqyqxxam6ALXyhey4L0SaUW1n7IaNVNT00sRK4aug8PGdRFosKoUP"
    "xIhUAEHxCrNGAIGJGBRWqio8idIoltTOEl/10YRjjUui5iLNnJXeu4welA+v1T48laL6CH"
    "30aUdMReZndqBmeptnutC51+F0SKb422b+BiaUNZicpFWcbjOnxb60VlQdVPzdBf661s41"
    "OBwjVDxuM4+RjtcTu2OEisdt5nEyGqoipzPId4bfva9zRAD0HEEynW0pfKa6g8ATOOPsfn"
    "rEb1uIWcufbCBi7Oh0ugeoJdPjmGNx6ilDFoAEIGgZmP8re0n7bZt9VIfHJ785p1a18N0Y"
    "zVqG/pYtOHWb+lVQdFPpJF5gQiVgE1RqwGac1YuIsNlWgjVGo0DNiDKUwdLVQI3RqDVgdW"
    "JEGJG+WV5E5wpJ7CXSImIjKzsrImML2xzYR51wcsHls4vh8aiXIXNtDm1/Vu501Zats2Vx"
    "jYmZMVj5G4Czq5OTXsYmVsOIrVwne0cBju3gJQD2BanNIe5cYaMktAmZMwfcMoWkuPIPJ3"
    "Nz4xOZ+0E/HVqKU8Nz0xr5nRuYTdaTip/HnE5rTJ3XnJvcmHVMdJmaUp7PavnMJRQmG2ox"
    "IEoqQeBlTAKsg3sEdAoIZeCW0HuwROwd4C/Dh4suSrATURGK/0bQysgJaO4xq8s6Fedmqq"
    "TJbSVNPmBmTdvWYpVBUY91/LHmTlR3guyY3+NR+rlURozKiGnR9GkiI0aFyeaP+u6GySpf"
    "nipw1C7bUmsLHI0QNHtpM4C8vFeg/TPeQJ0+3i2FWW2Wj3GzVMeedY3rGcrfw54+3rJltH"
    "l1TyIPbZsLQRmujZVJ4yFluzPGe335ooCge+CdDALo1D1zQQgIwBLV2p5ZdIwJgCYlMxm6"
    "Ce8glq8KoPCGZ5nv6+v3QXLXxcGvHhfF+ijeppoykt9Bi6O2ZCUm+a7gfk7BjDJ5SIc8BT"
    "fGMfldwq2ZXcypehfb0HvKOH63ejxOO007tXszo8UHzHHmcRKnkCxHVPytNwinXftWga5p"
    "Uq5PanEVLvhIS4w4voqElRQ91W1KLckBccym2Hoiq0zAHe+epPHusTmfibO5f1mLsCVTse"
    "XXtRTQPwqVUncKZKilwdzIV0zDKdioavotekJbxBLiebL+FBV05Sru+Zo9KVm4gRPFdQml"
    "f3P2OIRhQ/mIlcrbkvV8R5UfpfI+Rq6XUXl3L0KhRxeI9CoK4edfBmdH4nQ6ck2++LEIiy"
    "AW4ez8/A8RXuBtOyL24PL8xItpsKnhV5R88JiDhYWp5cXyrsOwKP0WWUaoZUKjKtNOzr8e"
    "AYPeX5Oz84vT/gkHXfZzTT4PP30+AnM8m1+Tq4tPMpTEsXzZ7uHZZDvj/6Ksc2oLzhQLSb"
    "rg044jfFDKnnRQYE86yLAnTRi+Q1IYr4BznKoWqJsQBns3N9e9nz1pGmD9l6OfPXla/Ljm"
    "t0XtZgNJS4Ar3os8YYf469WeDM0GlK8CwRr2HAxdJSBmXWjsSdfEKzktkQHQ4HPZ5u1QhN"
    "jvUVal9t5BnBkaVKgWZ7O6MacHL66Jf3gImFrUBFAawwIyy+KcBZDJV1ldsvrwdYkxefg6"
    "d0iKW4lpH9NaKkpRKWIVJ9YeuSktLk+xxfVY3uGCfyNap75JVgeK523mub9orVWvKEaq+N"
    "xmPmeYqKrwOoNc8bvN/PZ8Sqhi9ZA4VYt9UFu2LKqYw8ZxdUXeirjGiBSuGbhiL1W6GrAJ"
    "KoVs5kll0KxYQSSkUEurCjt+wDIXEZ9mLQUZuoxtbI9ZXZ0FR2pT1IJthWIXu4pxYrtZDb"
    "IvqG4OctcLtcQl+hKVRJiXErAZrH5iQTdRjWzkG5QPiR4bvXYYWfmqGLuyOCTsFmNk1BFo"
    "dyI66hJKTSYLRRDLC84K8FwRoaWFHKz7aPSwvpx8weSR6CrCapsRVg+baJCepB3LNFAFK+"
    "saxAUapypYWVb+WV2w8kGyXPvIwpN5xp7l3SjarmDYRKW67tKELtqV7pBle7Jh2Y0pQtLm"
    "GkVrbk6N1IQSc6oCwl7zDqLbyNYvDFCejSKOcP5RnBGS7Z/E+TAe2trO3KyQEFb/Tvbj/7"
    "F1hjw="
)
