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
    "active_key" VARCHAR(64) UNIQUE /* ``"<contact id>:<channel id>"`` while the ticket is unresolved, NULL once resolved. Its */,
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
    "eJztXVtz2zYW/isYvTSZcTKJEztZp9MZxVETbX3J2nLTaZyhIRGSsCYBlQTtqN389wXA+1"
    "WkRMoUjRePReKA5HdwOXf80yPou2M/788QYb0j8E+PQBPxf2LX90APLhbBVfGbwbEh20HR"
    "Ql6CY5tZcCK6mULDRvySjuyJhRcMU8KvEscwxEU64Q0xmYWXHIL/cpDG6AyxObL4ja/f+G"
    "VMdPQd2f7Pxa02xcjQY++JdfFseV1jy4W8NiTsV9lQPG2sTajhmCRsvFiyOSVBa+x+If8O"
    "ZEGGRPfMcsTri7fzvtP/IvdNwybuK0ZodDSFjsEinzvWwms9TTs7H2mXg5Gm9SoANKFEgI"
    "sF1OLrZ+IVnu2/fP3m9dtXh6/f8ibyNYMrb364jw6BcQklPGej3g95HzLotpAYh6BOLCSQ"
    "0CBLg/uB32HYRNkIxykTSOse6XP/nyTuPspFwPsXQuTD0bYN6PkH6ufEWHosL8B5NDwdXI"
    "76p5/F40zb/suQ+PVHA3FnX15dJq4+OXwqrlM+kdz5FXQCvgxHn4D4Cf48PxtIeKnNZpZ8"
    "Ythu9GdPvBN0GNUIvdegHhmd/lUfNd4y5Lqz0NfkepxScb0tXPcxirDde/vIQg9djsT5fT"
    "yHVjav/fYJLnO0dpGvJvyuGYjM2Fysni9eFDD29/7F8af+xRPeKsGtM+/WvnvvRwxfZEJs"
    "VAE4IKgH4YfdqGL4vtovgy9vlYuvvBfHdwFt+55aujaH9rwKzinCtfD20GzpgD44KDOgDw"
    "7yB7S4FwfcokbOgjEgjimxHvJ3gmSCUpj7tNtbPFwBtVcN7l7/w+nw7AhA3cTkmvQ/Ds5G"
    "/FfQU0U2vDwswYWXyT0gZIK4FecBtjUuaeO7DEa8pxxjSHIE4ChdggljTtgUF/w1p4ERXw"
    "Dt+/Pzk9gu/H44SmB8dfp+wLGX0PNGmLkKhCchh4DDO74oSwSqAR6jazXgvRG8RTZYQIsB"
    "TIBFHaI/s+iY/y/Eh2d8tcQzYvIp8Dw5ByqSbo2BQmmc3kY0HHFhDCe395Av+7E7IacZvU"
    "XEzmCzR/frbxfIgBK0NEs9rXmBR6KXHRSIfvgD2L+aJTKayLb5YrgZSKduJ7u3xZaCyB3y"
    "XCVieHKL2GZQjWQfHUJKzEO6T/NmZvqWuW9mT1YEzQxsTyFZjqj4mxJHsgHm3eycbJ2Hro"
    "CL6sjQ4qY8/xstMdr4wAwnszlGlgsitST+t2gZgKu5NrOAN949KQt599icr/izuU+iRXrk"
    "SPM3Qe6ifNy/PO5/kDqslrS2ySFhQsL71b0vFt+XWE8zDJSRpTbfRrnAWrisKztlZ+yUyn"
    "YR6hilbBcvC2wXL9O2CzlpKivWcar2WjF6l5/6z/YPDgGdAj6dgXzvd+G/ADMbGVOAbWDP"
    "6T0BlO8hABIdEHSHLGAzaiE9LQ3X120hxw9fl2D44etcfotbCVOKhab4eyUbSkDRxSlVu9"
    "qu/Cr50O+mhb2MX8WANtMcey2+J2lr4Hw7lYS2MzrDlZLmNPq+wLy7Nfgcp1RcbjOXo7pP"
    "SYE+SrJarN+F5boGyT5lnktAnMb3Vy4Z4Rn5DZXU64PwlR1Dt0C1t+B9oF3GhlWmqv0j3+"
    "K5oQ2mUF9nDE7mZk5IUXhzr0hnD5oppb1bSvsUcwm7ouIepemgptGIn5Y/kYnlQQJVAesk"
    "ncK7HN42/jvLO4hnuSuGT7E9ieBFs2vGv/b3X716s//i1eHbg9dv3hy8fREsHulbRavI++"
    "FHsZDEwE87ZYWlhG9A0iZdYYAnyFoc9tH7wjcsJE1H4yVDNoD8FybyQrhBAu+D3oGzq5MT"
    "MKUWgGBhwAmaU0NHFnhiIwRubghl6Obmadpg1dhTCifhQSmL5UGBxfIgbbG053D/4LDSaA"
    "goWjwQ1lzn6jcR+ptDlmS0ekvJFJE6gHMj+4mYSGmQR+h7zm7it+8CvEXmgsEfo5ilwAfx"
    "yWn/j6cxa8HJ+dlHv3kE9OOT8/fKMKsMs34cSzVTTpxIGXNWG3PMMNJnM3NO+ZChtiFc1q"
    "ATH1wtMukcQ0KQfoHsBf8E1EubdRIN9gpMOxPZVLO8tsq+0y37jtpLH+NeqpLHusb1Mslj"
    "9pxabOJk8LxI4Q5p2hsc1BqNm2GWl2+TE37lE3RBEdxCgt6Y6hnmw3w922/fCbv4NhTtCm"
    "kYTUqwcyF2Gr0M0dW7Uyizum3Kyaq9PuAwT/HMsZAOPFKAPfVmD5jYskSMH5ha1JRmVr+5"
    "zAMAUBhbocWeOYu0sbbmvpX0rKTnHVmrdlSOUtLzY+R6Gen5YdMXui01Vwx66HCwQwN5Ao"
    "Yzw6QKvCFF95SSRjJvEBGfniFgFWabR6hanWteh3pSY3I/F4izXK1FESRwA1/rWiD3Qqm/"
    "t51hXXv2i8xlQEI9qaJux6m6sHxs27kdIrhuAkqUWOUmtEeiTCsSOmIQGxkp8f++PD/L5n"
    "CEJMlbPGHgf8DAdmNe7d7PU4dMpGVi7GCDYWI/F4/9palFroDZAqLiyZecZwkGig4qGrwS"
    "m5B2Bw1nw8Ianjnr0t+jdkx4LVVeA5OxKDKjoTs/QWBtuIZuV4O7bqWKPGTBlp3EaIGIzj"
    "vRxDx07A2x+ux2din76ipiWy1tszMINe/CcFf2XD9GsPCvcmZogRqz2qNxaULDAGKDA+4W"
    "BWDgfHCVe3CL0IJfnljUtgHfEYWXwQZP6HRq81GyB4an/c/gavjBzohAr7/7DL/GV//DxX"
    "0R/P9NeToe0NNRMWtjk2yNti0eW/Bqy2lURQ0ICDZSAnZHtatN2ld+nHJjvrt+HH8/rbRN"
    "xIlUHPnqOPLI7r1ZHHkk4GPHEC4bRx4fXG2KI6eEuYJmSnr17hQKrm4bFTHeLUlQxbx0bd"
    "dUMS+Pkeuti3lpmTayhaThLZ820mqAmzluhINUaQAHBN0DuP7IIsj488cOyzK/55su4lTK"
    "iflwTkysI8Iww5u6MF05f+j2ttzBHVw5UFrpQEmMq1wtNDryVmmjWnzQl8wOEZSAiuLPKP"
    "B0CM4+Bzc3t2h5cyPqQ08goQRPoAGeiHYLZNmU7Eka3ubpu5Qfpb6ur8nNDZfq+KJguwT3"
    "skiQhRYG/1Awo3sAfecPMpYA2jLPZGHROywKAYmQITCDdwhgttIXo/mRt8oho9Tw1i5WO6"
    "qQKTX8MXK9isuiap5Ekq6D7tj6tRrl6W5SI/eklCoIR0gUyuVQ1rG9MOBSq2q/S9J1zwrS"
    "iB2PC9Oi5nEVK0iERJlAajGBJAtfuspeBc0jTqR8/CV8/KEXeEMff9jRjiFc2scfG1xVff"
    "zqNE9lqGuvoS6WlJG20iVzNnJNdOk8kTLmOT7NwD0azym9BQu4NCjU97xj2cAYTakoj82E"
    "TYxvuRM+8JF+FLeAzfhgEce8idBOYR6zqTswEra6Rp5zTaQ9jlNZ9F5a+qhpYsaH2548ZA"
    "76j+KNIOMgYIO3p/4zRHWYpQ2kse8es7nsXub/XRNR85suxNillqQRFb9Fn8IqCJeqnkwL"
    "jXoes9PI5mfcRkg6oR1tO992jqDun6hbUnaPkCjZvXbZ3Q7SsKok+DuN2gdSa4yfgFYRdJ"
    "9sz1/Ao//zfYQv2WKJzzqntBLllmsFVC4ToCoEbLBiQS4emIssATf/RLsISWfOr9lwFw4B"
    "tdAE4bu1vCoJUuVWaYtbpYwzzd03NOElma3F/cwOVMmN9njS0jwPdsw12J2kVZxuM6dVnp"
    "fK82qZDbiteV6+PThtu4tYinPNdlGTdL15XrEaAFyZQBaBEr5k6NlXz+grdZ8wvIm3+hrR"
    "DvmrM80ThTNup3fzb8r6tU3rl465OO2b5dPK/4A4ZmopSbivIx202RrGwXh/fnX24Qh4Nu"
    "9rcn418i5Rh8lrSRNAGfd2/br9wsJ3mQUXC2tbRqi2WNsyuLKzxS0ZX6KqGFL89sqOsobl"
    "l5kZYks+1n57hXV1rKObd+binmMnjJO1GPneKOLq+8kGWH8H3EeKaH0/sn8P3M/xZO5G6E"
    "MGdKQ7CwNPoDjI10JcHsR3yMLITtt/G+h/+4FSwvW45CKetuZ4yKNv8cBoU5xakWtltXTV"
    "vJslw9vlG1irOlouBseD4e8DLk75PVyT/1wNrsQV/nhH/L4cnH0Ynn08ArbrW5FXRvInuy"
    "YfBie8gwtB4M0bQXMx6Ms+If//1/7wRNx2HS/tENfc4r8TqleK+4xTdW82NVP1XYJWVWKL"
    "U3UBauX/2nH/lzSj2s7YDTyqqOmliZXCV0Hh4zuJtFhUCkCJEakQlOIVZo0QFBMxKKxUVX"
    "gSpVEsqZ0lvuqjCccal0TNRZo5K713GT0oH16rfXgqyVnFZai4jEcw04XOvQ6nQzLF3zbz"
    "NzChrMHkJK3idJs5LfaltSIpoeLvLvDXtXauweEYoeJxm3mMdLye2B0jVDxuM4+T0VAVOZ"
    "1BvjP87n2ZIwKg5wiSCZFL4TPVHQSewBln99MjfttCzFr+ZAMRY0en0z2RZCMSLJljceop"
    "QxaABCBoGZj/K3tJ+22bfVSHxye/OadWtfDdGM1ahv6WLTh1m/pVUHRTKUReYEIlYBNUas"
    "BmnPaMiLDZVoI1RqNAzYgylMHS1UCN0ag1YHViRBiRvlleROdKkewl0iJiIys7KyJjC9sc"
    "2EedcHLB5bOL4fGolyFzbQ5tf1bufN6WrbNlcY2JmTFY+RuAs6uTk17GJlbDiK1caX1HAY"
    "7t4CUA9gWpzSHuXGmsJLQJmTMH3DKlyLjyDydzc+MzvftBPx1ailPDc9NTFjo3MJusSBY/"
    "0Tud1pg68Ts3uTHroPEyVck8n9XymUsoTDbUYkAU5YLAy5gEWAf3COgUEMrALaH3YInYO8"
    "Bfhg8XXRTxJ6KmGP+NoJWRE9DcY1YXBivOzVRJk9tKmnzAzJq2rcUqg6Ie6/hjzZ2o7gTZ"
    "Mb/Ho/RzqYwYlRHTounTREaMCpPNH/XdDZNVvjxV4KhdtqXWFjgaIWj20mYAeXmvQPtnvI"
    "E6v75bCrPaLB/jZqkOzusa1zOUv4c9v75ly2jz6p5EHto2F4IyXBsrk8ZDynZnjPf68kUB"
    "QffAO1sG0Kl7aocQEIAlqrU9s+gYEwBNSmYydBPeQSxfFUDhDc8y39fX74Pkroujgz0uiv"
    "VRvE01ZSS/gxZHbclKTPJdwf2cghll8pgXeY5yjGPyu4RbM7uYU/UutqH3lHH8bvWApXaa"
    "dmr3ZkaLD5jjzANJTiFZjqj4W28QTrv2rQJd06Rcn9TiKlzwkZYYcXwVCSspeqrblFqSA+"
    "KgVrH1RFaZgDvePUnj3WNzPhNnc/+yFmFLpmLLr2spoH8UKqXuFMhQS4O5ka+YhlOwUdX0"
    "a/SMv4glxPNkfRMVdOUq7vmaPSlZuIETxXUJpX9z9jiEYUP5iJXK25L1fEeVH6XyPkaul1"
    "F5dy9CoUcXiPQqCuHnnwdnR+J8Q3JNPvuxCIsgFuHs/PxPEV7gbTsi9uDy/MSLabCp4VeU"
    "fPCYg4WFqeXF8q7DsCj9FllGqGVCoyrTTs6/HAGD3l+Ts/OL0/4JB132c00+DT9+OgJzPJ"
    "tfk6uLjzKUxLF82e7h2WQ74/+irJOOC06lC0m64NOOI3xQyp50UGBPOsiwJ00YvkNSGK+A"
    "c5yqFqibEAZ7NzfXvZ89aRpg/Zejnz15Wvy45rdF7WYDSUuAK96LPGGH+OvVngzNBpSvAs"
    "Ea9hwMXSUgZl1o7EnXxCs5LZEB0OBz2ebtUITY71FWpfbeQZw6G1SoFqf7ujGnBy+uiX94"
    "CJha1ARQGsMCMsvinAWQyVdZXbL68HWJMXn4OndIiluJaR/TWipKUSliFSfWHrkpLS5Psc"
    "X1WN7hgn8jWqe+SVYHiudt5rm/aK1VryhGqvjcZj5nmKiq8DqDXPG7zfz2fEqoYvWQOFWL"
    "fVBbtiyqmMPGcXVF3oq4xogUrhm4Yi9VuhqwCSqFbOZJZdCsWEEkpFBLqwo7fsAyFxGfZi"
    "0FGbqMbWyPWV2dBUdqU9SCbYViF7uKcWK7WQ2yL6huDnLXC7XEJfoSlUSYlxKwGax+YkE3"
    "UY1s5BuUD4keG712GFn5qhi7sjgk7BZjZNQRaHciOuoSSk0mC0UQywvOCvBcEaGlhRys+2"
    "j0sL6cfMHkkegqwmqbEVYPm2iQnqQdyzRQBSvrGsQFGqcqWFlW/lldsPJBslz7yMKTecae"
    "5d0o2q5g2ESluu7ShC7ale6QZXuyYdmNKULS5hpFa25OjdSEEnOqAsJe8w6i28jWLwxQno"
    "0ijnD+UZwRku2fxPkwHtraztyskBBW/0724/95yUJY"
)
