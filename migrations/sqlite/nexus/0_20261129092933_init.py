from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "agents" (
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "email" VARCHAR(320) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255),
    "role" VARCHAR(16) NOT NULL /* ADMIN: admin\nAGENT: agent */,
    "is_active" INT NOT NULL,
    "available" INT NOT NULL /* Takes part in round-robin auto-assignment. */
);
CREATE TABLE IF NOT EXISTS "api_tokens" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE /* SHA-256 of the token; the token itself is shown once and never stored. */,
    "prefix" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "last_used_at" TIMESTAMP,
    "expires_at" TIMESTAMP,
    "agent_id" INT NOT NULL REFERENCES "agents" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "canned_responses" (
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "shortcut" VARCHAR(64) NOT NULL UNIQUE,
    "title" VARCHAR(200),
    "body" TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS "channels" (
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(64) NOT NULL UNIQUE,
    "type" VARCHAR(64) NOT NULL,
    "plugin" VARCHAR(100),
    "enabled" INT NOT NULL,
    "state" VARCHAR(16) NOT NULL,
    "last_error" TEXT,
    "last_error_at" TIMESTAMP,
    "details" JSON NOT NULL
) /* A configured channel instance, mirrored from the configuration at start-up. */;
CREATE TABLE IF NOT EXISTS "channel_state" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "key" VARCHAR(200) NOT NULL,
    "value" JSON,
    "updated_at" TIMESTAMP NOT NULL,
    "channel_id" INT NOT NULL REFERENCES "channels" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_channel_sta_channel_74a4b7" UNIQUE ("channel_id", "key")
) /* Small JSON values a channel plugin keeps across restarts (offsets, IMAP UIDs). */;
CREATE TABLE IF NOT EXISTS "contacts" (
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(255),
    "email" VARCHAR(320),
    "phone" VARCHAR(64),
    "attributes" JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS "contact_identities" (
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "channel_type" VARCHAR(64) NOT NULL,
    "key" VARCHAR(320) NOT NULL,
    "address" VARCHAR(320) NOT NULL,
    "display_name" VARCHAR(255),
    "profile" JSON NOT NULL,
    "contact_id" INT NOT NULL REFERENCES "contacts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_contact_ide_channel_6d5b3d" UNIQUE ("channel_type", "key")
) /* A contact on one channel type. ``key`` is canonical (one person, one key); */;
CREATE TABLE IF NOT EXISTS "inbound_events" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "payload" TEXT NOT NULL,
    "headers" JSON NOT NULL,
    "status" VARCHAR(16) NOT NULL /* pending, processing, processed or failed. */,
    "error" TEXT,
    "attempts" INT NOT NULL,
    "received_at" TIMESTAMP NOT NULL,
    "status_changed_at" TIMESTAMP,
    "processed_at" TIMESTAMP,
    "channel_id" INT NOT NULL REFERENCES "channels" ("id") ON DELETE CASCADE
) /* A raw webhook payload, stored before it is processed: the provider gets its 200 as soon */;
CREATE INDEX IF NOT EXISTS "idx_inbound_eve_status_9b749c" ON "inbound_events" ("status");
CREATE TABLE IF NOT EXISTS "pending_statuses" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "external_id" VARCHAR(255) NOT NULL,
    "status" VARCHAR(16) NOT NULL /* RECEIVED: received\nQUEUED: queued\nSENDING: sending\nSENT: sent\nDELIVERED: delivered\nREAD: read\nFAILED: failed */,
    "at" TIMESTAMP,
    "error_code" VARCHAR(100),
    "error_text" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "channel_id" INT NOT NULL REFERENCES "channels" ("id") ON DELETE CASCADE
) /* A delivery-status report for a message id we do not know yet; applied when it appears. */;
CREATE INDEX IF NOT EXISTS "idx_pending_sta_channel_d54807" ON "pending_statuses" ("channel_id", "external_id");
CREATE TABLE IF NOT EXISTS "teams" (
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(100) NOT NULL UNIQUE,
    "auto_assign" INT NOT NULL /* Assign new tickets of this team round-robin among its available agents. */,
    "last_assigned_agent_id" INT /* The agent who got the last round-robin assignment. */
);
CREATE TABLE IF NOT EXISTS "tickets" (
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "status" VARCHAR(16) NOT NULL /* OPEN: open\nPENDING: pending\nSNOOZED: snoozed\nRESOLVED: resolved */,
    "priority" VARCHAR(16) NOT NULL /* LOW: low\nNORMAL: normal\nHIGH: high\nURGENT: urgent */,
    "subject" VARCHAR(500),
    "active_key" VARCHAR(64) UNIQUE /* ``"<contact id>:<channel id>"`` on the ticket that the contact's unthreaded messages on */,
    "snoozed_until" TIMESTAMP,
    "first_response_at" TIMESTAMP,
    "resolved_at" TIMESTAMP,
    "last_message_at" TIMESTAMP,
    "assignee_id" INT REFERENCES "agents" ("id") ON DELETE SET NULL,
    "channel_id" INT NOT NULL REFERENCES "channels" ("id") ON DELETE RESTRICT,
    "contact_id" INT NOT NULL REFERENCES "contacts" ("id") ON DELETE CASCADE,
    "identity_id" INT NOT NULL REFERENCES "contact_identities" ("id") ON DELETE CASCADE,
    "team_id" INT REFERENCES "teams" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_tickets_contact_a25892" ON "tickets" ("contact_id", "channel_id", "status");
CREATE INDEX IF NOT EXISTS "idx_tickets_last_me_413fcc" ON "tickets" ("last_message_at", "id");
CREATE INDEX IF NOT EXISTS "idx_tickets_status_809c4a" ON "tickets" ("status", "snoozed_until");
CREATE TABLE IF NOT EXISTS "messages" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "direction" VARCHAR(16) NOT NULL /* INBOUND: inbound\nOUTBOUND: outbound */,
    "private" INT NOT NULL,
    "text" TEXT,
    "html" TEXT,
    "external_id" VARCHAR(255) /* The provider's id; unique per channel, which is what deduplicates redeliveries. */,
    "reply_to_external_id" VARCHAR(255),
    "status" VARCHAR(16) NOT NULL /* RECEIVED: received\nQUEUED: queued\nSENDING: sending\nSENT: sent\nDELIVERED: delivered\nREAD: read\nFAILED: failed */,
    "error_code" VARCHAR(100),
    "error_text" TEXT,
    "attempts" INT NOT NULL,
    "auto_submitted" INT NOT NULL,
    "reactions" JSON NOT NULL,
    "metadata" JSON NOT NULL,
    "provider_timestamp" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "status_changed_at" TIMESTAMP,
    "sent_at" TIMESTAMP,
    "delivered_at" TIMESTAMP,
    "read_at" TIMESTAMP,
    "failed_at" TIMESTAMP,
    "edited_at" TIMESTAMP,
    "next_attempt_at" TIMESTAMP /* When a queued reply is due (again): a retry's backoff, or its turn after an earlier reply. */,
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
CREATE TABLE IF NOT EXISTS "attachments" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "filename" VARCHAR(255) NOT NULL,
    "content_type" VARCHAR(255) NOT NULL,
    "size" BIGINT NOT NULL,
    "storage_key" VARCHAR(500) /* Where the bytes are in the attachment storage; NULL for a placeholder (see ``note``). */,
    "sha256" VARCHAR(64),
    "content_id" VARCHAR(255),
    "note" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "message_id" INT NOT NULL REFERENCES "messages" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "ticket_labels" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "ticket_id" INT NOT NULL REFERENCES "tickets" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_ticket_labe_ticket__97b855" UNIQUE ("ticket_id", "name")
);
CREATE INDEX IF NOT EXISTS "idx_ticket_labe_name_51d014" ON "ticket_labels" ("name");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
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
    "eJztXW1T27gW/iuafFk6Q5mWFtpLd3Ympdk2dyH0QtjubOkYJVYSXWwpa8vQ7N7+9yvJdv"
    "zu2IkdHKMvDLF0ZPs5snTe9U+HoO+OfdCdIsI6J+CfDoEm4v9Eru+DDpzPl1fFbwZHhuwH"
    "RQ95CY5sZsGxGGYCDRvxSzqyxxaeM0wJv0ocwxAX6Zh3xGQaXHII/stBGqNTxGbI4g1fv/"
    "HLmOjoO7L9n/M7bYKRoUeeE+vi3vK6xhZzea1P2K+yo7jbSBtTwzFJ0Hm+YDNKlr2x+4b8"
    "PZAFGRLDM8sRjy+ezntP/43cJw26uI8YotHRBDoGC73uSAuudTRtcDHUrnpDTeuUAGhMiQ"
    "AXC6jF20/FIzw/fPn6zeu3r45fv+Vd5GMur7z54d46AMYllPAMhp0fsh0y6PaQGAegji0k"
    "kNAgS4L7gbcwbKJ0hKOUMaR1j/TA/yeOu49yHvD+hQD5YLZtA3r+gvoFMRYey3NwHvbPe1"
    "fD7vlncTvTtv8yJH7dYU+0HMqri9jVveNn4jrlH5L7fS0HAV/6w09A/AR/Xgx6El5qs6kl"
    "7xj0G/7ZEc8EHUY1Qh80qIdmp3/VR433DLjuzPU1uR6lVFxvCtd9jEJs954+tNBDlyNRfp"
    "/OoJXOa79/jMscrV3kqwm/awYiUzYTq+eLFzmM/b17efqpe7nHe8W4NfCaDt22HxF8kQmx"
    "UQbgJUE1CD/uRhXB99VhEXx5r0x8ZVsU3zm07Qdq6doM2rMyOCcI18LbQ7OhE/roqMiEPj"
    "rKntCiLQq4RY2MBaNHHFNi3efPBMkYJTD3abe3eLgCaqcc3J3uh/P+4ARA3cTkhnQ/9gZD"
    "/ms5Ukk2vDwuwIWX8T0gYIJoivIA2xqXtPF9CiPeU44xJBkCcJguxoQRJ6yLC/6aU8OMz4"
    "H2/cXFWWQXft8fxjC+Pn/f49hL6HknzFwFwpOQA8DhPV+UJQLlAI/QNRrwzhDeIRvMocUA"
    "JsCiDtGfW3TE/xfiw3O+WuIpMfkncBD/BkqSbo2BQmmc3IU0HHFhBMd3D5Av+5GWgNOM3i"
    "Fip7DZo/v1t0tkQAlakqWe1jzHQzHKDgpEP/wJ7F9NExlNZNt8MdwMpHN3kN3bYgtB5E55"
    "rhIxPL5DbDOohnKMFiElvkN6SLO+zGSTeWimf6wIminYnkOyGFLxNyGOpAPMh9k52ToLXQ"
    "EX1ZGhRU15/jtaYrbxiRl8zOYIWS6I1JL436HFElzNtZkteeO1SVnIa2MzvuJPZz6JFhqR"
    "I82fBLmL8mn36rT7QeqwWtzaJqeECQkfV/feWLxfbD1NMVCGltpsG+Uca8GyruyUrbFTKt"
    "tFoGMUsl28zLFdvEzaLuRHU1qxjlI114rRufrUfX54dAzoBPDPGcjnfhf8CzCzkTEB2Ab2"
    "jD4QQPkeAiDRAUH3yAI2oxbSk9JwdcPmcvz4dQGGH7/O5LdoiplSLDTB30vZUJYUbfykKl"
    "fblV8lG/rdtLAX8asY0GaaY6/F9zhtBZxvppLQdEanuFKSnEbf55gPtwafo5SKy03mclj3"
    "KSjQh0lWi/W7sFxXINknzHMxiJP4/solIzwlv6GCev0yfGXH0M1R7S34sNQuI9MqVdX+kW"
    "3x3NAGk6uvMwbHMzMjpCho3M/T2ZfdlNLeLqV9grmEXVJxD9O0UNOoxU/L78jE8iCBKoF1"
    "nE7hXQxvG/+d5h3E08wVw6fYnkTwot4141+Hh69evTl88er47dHrN2+O3r5YLh7JprxV5H"
    "3/o1hIIuAnnbLCUsI3IGmTLjHBY2QNDvvofOEbFpKmo9GCIRtA/gsTeSHYIIH3Qu/A4Prs"
    "DEyoBSCYG3CMZtTQkQX2bITA7S2hDN3ePksarGq7S+5HeFTIYnmUY7E8Slos7Rk8PDouNR"
    "uWFA2eCGuuc9WbCP3NIU0yWr2lpIpILcC5lv1EfEhJkIfoe8Zu4vdvA7x55oLeH8OIpcAH"
    "ce+8+8eziLXg7GLw0e8eAv307OK9Mswqw6wfx1LOlBMlUsac1cYcM4j02cycUzxkqGkIFz"
    "XoRCdXg0w6p5AQpF8ie85fAXWSZp1Yh/0c085YdtUsr6+y77TLvqP20qe4l6rksbZxvUjy"
    "mD2jFhs7KTzPU7gDmuYGBzVG42aYZeXbZIRf+QRtUAS3kKA3onqK+TBbz/b7t8Iuvg1Fu0"
    "QaRp0S7EyInUYnRXT1WnJlVrdPMVm10wUc5gmeOhbSgUcKsKfe7AMTW5aI8QMTi5rSzOp3"
    "l3kAAApjK7TYc2eeNNZWPLaSnpX0vCNr1Y7KUUp6fopcLyI9P276Qrul5pJBDy0OdqghT8"
    "BwppiUgTegaJ9SUkvmDSLi1VMErNxs8xBVo3PNq1BPKkzu5wJxmqs1L4IEbuBrXQvkTiD1"
    "d7YzrSvPfpG5DEioJ2XU7ShVG5aPbTu3AwTXTUAJE6vchOZIlElFQkcMYiMlJf7fVxeDdA"
    "6HSOK8xWMG/gcMbNfm1e78PHHIWFomRg42GCb2gbjtL3UtcjnMFhDlf3zx7yzGQDFASYNX"
    "bBPS7qHhbFhYwzNnXfl71I4Jr4XKa2AyEkVmNHTvJwisDVffHap3365Ukccs2LKTGM0R0f"
    "kgmvgOHXtDrD67g13JsdqK2FZL2+wMQvW7MNyVPdOPsVz4VzkztKUas9qjcWVCwwBigwPu"
    "FgXg0vngKvfgDqE5vzy2qG0DviMKL4MN9uhkYvNZsg/6593P4Lr/wU6JQK9++BS/xlf/xU"
    "W7CP7/pjwdj+jpKJm1sUm2RtMWjy14teVnVEYNWBJspATsjmpXmbSv/DjF5nx7/Tj+flpq"
    "m4gSqTjy1XHkod17szjyUMDHjiFcNI48OrmaFEdOCXMFzYT06rXkCq5uHxUx3i5JUMW8tG"
    "3XVDEvT5HrjYt5aZg2soWk4S2fNtJogOs5boSDVGoCLwnaB3D1kUWQ8fuPHJZmfs82XUSp"
    "lBPz8ZyYWEeEYYY3dWG6cn7fHW2xgzu4cqA00oESm1eZWmh45q3SRrXopC+YHSIoARXFn9"
    "HS0yE4ewBub+/Q4vZW1IceQ0IJHkMD7Il+c2TZlOxLGt7n2buEH6W6oW/I7S2X6viiYLsE"
    "D7JIkIXmBn9RMKX7AH3nNzIWANoyz2Ru0XssCgGJkCEwhfcIYLbSF6P5kbfKIaPU8MYuVj"
    "uqkCk1/ClyvYzLomyeRJyuhe7Y6rUa5emuUyP3pJQyCIdIFMrFUNaxPTfgQitrv4vTtc8K"
    "UosdjwvTouZxGStIiESZQCoxgcQLX7rKXgnNI0qkfPwFfPyBF3hDH38w0I4hXNjHH5lcZX"
    "386jRPZahrrqEukpSRtNLFczYyTXTJPJEi5jn+mYEHNJpRegfmcGFQqO97x7KBEZpQUR6b"
    "CZsY33LHfOIj/SRqAZvyySKOeROhncI8ZlN3YsRsdbXc54ZIexynsuiDtPRR08SMT7d9ec"
    "gc9G/FO0HGQcAG70/9e4jqMAsbSGPfA2YzObzM/7shouY3nYu5Sy1JIyp+izGFVRAuVD2Z"
    "Bhr1PGYnkc3OuA2RtEI72na+7QxB3T9Rt6DsHiJRsnvlsru9TMMqk+Dv1GofSKwxfgJaSd"
    "B9sn1/AQ//z/cRvmSLJT7tnNJSlFuuFVC6TICqELDBigW5eGDO0wTc7BPtQiStOb9mw104"
    "ANRCY4Tv1/KqxEiVW6UpbpUizjR339CEl2S6FvdTB1AlN5rjSUvyfLljrsHuOK3idJM5rf"
    "K8VJ5Xw2zATc3z8u3BSdtdyFKcabYLm6SrzfOK1ADgygSyCJTwxUPPvnpGX6n7BOFNvNfX"
    "kHbIH51pniic0pzczb8p69c2rV865uK0b5ZPKv894piJpSTmvg4N0GRrGAfj/cX14MMJ8G"
    "zeN+Tieuhdog6T1+ImgCLu7ep1+7mF71MLLubWtgxRbbG25fLKzha3ZHyJKmNI8fsrO8oa"
    "ll9mpogt2Vj7/RXW5bEOb96pi3uGnTBK1mDkO8OQq+8nG2D9HXBvKaL1/cj+ffAww+OZG6"
    "EPGdCR7swNPIbiIF8LcXkQ3yMLIztp/61h/O0HSgnX44KLeNqa8yGLvsETo0lxanmuldXS"
    "Vf1ulhRvl29gLetoueyd9vq/97g45Y9wQ/5z3bsWV/jtHfH7qjf40B98PAG261uRV4byJ7"
    "shH3pnfIBLQeB9N4LmsteVY0L+/6/d/plodh0vzRDX3OK/Y6qXivuMUrXva6qn6rsErazE"
    "FqVqA9TK/7Xj/i9pRrWdkRt4VFLTSxIrha+Ewsd3EmmxKBWAEiFSISj5K8waISgmYlBYqc"
    "rwJEyjWFI5S3zVRxOONS6JmvMkc1Z671JGUD68RvvwVJKzistQcRlP4EsXOvc6nA7IFH+b"
    "zN+lCWUNJsdpFaebzGmxL60VSQkVf3eBv661cw0ORwgVj5vMY6Tj9cTuCKHicZN5HI+GKs"
    "npFPKd4XfnywwRAD1HkEyIXAifqe4gsAennN3PTnizhZi1+MkGIsaOTib7IslGJFgyx+LU"
    "E4YsAAlA0DIw/1eOkvTb1nurFs9P3jijVrnw3QjNWob+hi04VZv6VVB0XSlEXmBCKWBjVG"
    "rCppz2jIiw2ZaCNUKjQE2JMpTB0uVAjdCoNWB1YkQQkb5ZXkTrSpHsx9IiIjMrPSsiZQvb"
    "HNgnnXByyeWzy/7psJMic20ObXda7Hzehq2zRXGNiJkRWPkTgMH12VknZROrYMaWrrS+ow"
    "BHdvACAPuC1OYQt640VhzamMyZAW6RUmRc+Yfjmbnxmd7d5TgtWooT03PTUxZaNzHrrEgW"
    "PdE7mdaYOPE7M7kx7aDxIlXJPJ/V4rlLKEw21GJAFOWCwMuYBFgHDwjoFBDKwB2hD2CB2D"
    "vAH4ZPF10U8Seiphj/jaCVkhNQ321WFwbLz81USZPbSpp8xMyapq3FKoOiGuv4U82dKO8E"
    "2TG/x5P0c6mMGJUR06DPp46MGBUmmz3r2xsmq3x5qsBRs2xLjS1wNETQ7CTNAPLyfo72z3"
    "gHdX59uxRmtVk+xc1SHZzXNq6nKH+Pe359w5bR+tU9iTy0bS4Epbg2ViaNB5TNzhjvdOWD"
    "AoIegHe2DKAT99QOISAAS1Rre27RESYAmpRMZegmvIdYPiqAwhueZr6vbtxHyV0XRwd7XB"
    "Tro3iacspI9gANjtqSlZjks4KHGQVTyuQxL/Ic5QjH5HsJt2Z6MafyQ2xD7yni+N3qAUvN"
    "NO1U7s0MFx8wR6kHkpxDshhS8bfaIJxm7Vs5uqZJuT6pRVW45UtaYsbxVSSopOipbhNqSQ"
    "6Ig1rF1hNaZZbc8dokjdfGZvxLnM78y1qILamKLb+uJYD+kauUup9Ailq6/DayFdPgE6xV"
    "Nf0aPuMvZAnxPFnfRAVduYp7vmZPShZu4FhxXULp35w9DmHYUD5ipfI2ZD3fUeVHqbxPke"
    "tFVN7di1Do0DkinZJC+MXn3uBEnG9IbshnPxZhvoxFGFxc/CnCC7xtR8QeXF2ceTENNjX8"
    "ipKPHnMwtzC1vFjedRgWpt8iywi1TGiUZdrZxZcTYNCHGzK4uDzvnnHQ5Tg35FP/46cTMM"
    "PT2Q25vvwoQ0kcy5ftHp9NtjP6L0o76TjnVLqApA0+7SjCR4XsSUc59qSjFHvSmOF7JIXx"
    "EjhHqSqBug5hsHN7e9P52ZOmAdZ/OfnZk6fFjxveDCiRZgBXtncPfBW/PZqfbMCF55nYuZ"
    "Dux3baIOWs2trudEOkccofbUoBo+9kxDhvHKPl0noA+sz2y1NLFIEJ7/gQRy+C4SYWNQEU"
    "1q8b4j8stCx8z98C8AeSI4oFnv/nP+oB2OsC98nAGBJ+Q9kBAhvxIXSvl1cFWzwtb5xRLg"
    "/zhQbwGXLwLM2OEpnZx68LTOzj15nzWjTF1o6I6lNSFEsQq2Cz5ghfSZl7gi2uDPMB5/wd"
    "0TpFUtIGUDxvMs/9VW+tokcRUsXnJvM5xc5Vhtcp5IrfTea355hCJUuQRKka7MjasnlSBS"
    "7WjqsrRZfENUKkcE3BFXv51uWAjVEpZFOPO4NmyTIkAYVaWlXs8iPWygg5Riup6tBmbCN7"
    "zOoSLzhU4KISbEtUzNhVjGPbzWqQfUF1c5DbXu0lKtEXKEfCvLyCzWD1sxPaiWpoI9+gBk"
    "n47Om1Y9GKl9bYlcUhZrcYIaOKaL0zMVCbUKoz4yiEWFaE1xLPFWFeWsDBqs9XD4rUyQeM"
    "n6uuwrS2Gab1uNkKyY+0ZekKquplVZM4R+NUVS+Lyj+rq14+SqpsF1l4PEvZs7yGvO0KBl"
    "1UvuwufdB5u9I9smxPNiy6MYVImlzoaM3NqZbCUuKbKoGw172F6Nay9QsDlGejiCKcfZ5n"
    "iGT7x3k+joe2soM7S2SVVb+T/fg/8f1aqw=="
)
