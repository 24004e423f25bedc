"""The data model. Changing a model needs a migration for both dialects:
``python scripts/makemigrations.py <name>``; ``tests/test_migrations.py`` fails otherwise."""

from __future__ import annotations

import enum

from tortoise import fields
from tortoise.models import Model

from nexus.types import DeliveryStatus


class Role(enum.StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Timestamped(Model):
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class Agent(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=320, unique=True)
    password_hash = fields.CharField(max_length=255, null=True)
    role = fields.CharEnumField(Role, max_length=16, default=Role.AGENT)
    is_active = fields.BooleanField(default=True)
    #: Takes part in round-robin auto-assignment.
    available = fields.BooleanField(default=True)

    teams: fields.ManyToManyRelation[Team]
    tokens: fields.ReverseRelation[ApiToken]

    class Meta:
        table = "agents"


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    agent: fields.ForeignKeyRelation[Agent] = fields.ForeignKeyField(
        "nexus.Agent", related_name="tokens", on_delete=fields.CASCADE, db_index=True
    )
    name = fields.CharField(max_length=100)
    #: SHA-256 of the token; the token itself is shown once and never stored.
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_tokens"


class Team(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    #: Assign new tickets of this team round-robin among its available agents.
    auto_assign = fields.BooleanField(default=False)
    #: The agent who got the last round-robin assignment.
    last_assigned_agent_id = fields.IntField(null=True)
    members: fields.ManyToManyRelation[Agent] = fields.ManyToManyField(
        "nexus.Agent", related_name="teams", through="team_members"
    )

    class Meta:
        table = "teams"


class Channel(Timestamped):
    """A configured channel instance, mirrored from the configuration at start-up."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    type = fields.CharField(max_length=64)
    plugin = fields.CharField(max_length=100, null=True)
    enabled = fields.BooleanField(default=True)
    state = fields.CharField(max_length=16, default="configured")
    last_error = fields.TextField(null=True)
    last_error_at = fields.DatetimeField(null=True)
    details = fields.JSONField(default=dict)

    class Meta:
        table = "channels"


class ChannelState(Model):
    """Small JSON values a channel plugin keeps across restarts (offsets, IMAP UIDs)."""

    id = fields.IntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "nexus.Channel", related_name="state_values", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=200)
    value = fields.JSONField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "channel_state"
        unique_together = (("channel", "key"),)


class Contact(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255, null=True)
    email = fields.CharField(max_length=320, null=True)
    phone = fields.CharField(max_length=64, null=True)
    attributes = fields.JSONField(default=dict)

    identities: fields.ReverseRelation[ContactIdentity]

    class Meta:
        table = "contacts"


class ContactIdentity(Timestamped):
    """A contact on one channel type. ``key`` is canonical (one person, one key);
    ``address`` is where replies go, exactly as the provider last gave it."""

    id = fields.IntField(primary_key=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "nexus.Contact", related_name="identities", on_delete=fields.CASCADE, db_index=True
    )
    channel_type = fields.CharField(max_length=64)
    key = fields.CharField(max_length=320)
    address = fields.CharField(max_length=320)
    display_name = fields.CharField(max_length=255, null=True)
    profile = fields.JSONField(default=dict)

    class Meta:
        table = "contact_identities"
        unique_together = (("channel_type", "key"),)


class Ticket(Timestamped):
    id = fields.IntField(primary_key=True)
    status = fields.CharEnumField(TicketStatus, max_length=16, default=TicketStatus.OPEN)
    priority = fields.CharEnumField(Priority, max_length=16, default=Priority.NORMAL)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "nexus.Channel", related_name="tickets", on_delete=fields.RESTRICT
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "nexus.Contact", related_name="tickets", on_delete=fields.CASCADE
    )
    identity: fields.ForeignKeyRelation[ContactIdentity] = fields.ForeignKeyField(
        "nexus.ContactIdentity", related_name="tickets", on_delete=fields.CASCADE
    )
    assignee: fields.ForeignKeyNullableRelation[Agent] = fields.ForeignKeyField(
        "nexus.Agent", related_name="assigned_tickets", null=True, on_delete=fields.SET_NULL, db_index=True
    )
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "nexus.Team", related_name="tickets", null=True, on_delete=fields.SET_NULL, db_index=True
    )
    subject = fields.CharField(max_length=500, null=True)
    #: ``"<contact id>:<channel id>"`` on the ticket that the contact's unthreaded messages on
    #: this channel go to; NULL once resolved. Its unique index makes 50 messages from a new
    #: contact arriving at once open one ticket. (A thread can reopen a second ticket, which
    #: then holds no key.)
    active_key = fields.CharField(max_length=64, null=True, unique=True)
    snoozed_until = fields.DatetimeField(null=True)
    first_response_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    last_message_at = fields.DatetimeField(null=True)

    labels: fields.ReverseRelation[TicketLabel]
    messages: fields.ReverseRelation[Message]

    class Meta:
        table = "tickets"
        indexes = (
            ("contact", "channel", "status"),
            ("last_message_at", "id"),
            ("status", "snoozed_until"),
        )


class TicketLabel(Model):
    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "nexus.Ticket", related_name="labels", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100, db_index=True)

    class Meta:
        table = "ticket_labels"
        unique_together = (("ticket", "name"),)


class Message(Model):
    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "nexus.Ticket", related_name="messages", on_delete=fields.CASCADE
    )
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "nexus.Channel", related_name="messages", on_delete=fields.RESTRICT
    )
    direction = fields.CharEnumField(Direction, max_length=16)
    private = fields.BooleanField(default=False)
    author: fields.ForeignKeyNullableRelation[Agent] = fields.ForeignKeyField(
        "nexus.Agent", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    sender: fields.ForeignKeyNullableRelation[ContactIdentity] = fields.ForeignKeyField(
        "nexus.ContactIdentity", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    text = fields.TextField(null=True)
    html = fields.TextField(null=True)
    #: The provider's id; unique per channel, which is what deduplicates redeliveries.
    external_id = fields.CharField(max_length=255, null=True)
    reply_to: fields.ForeignKeyNullableRelation[Message] = fields.ForeignKeyField(
        "nexus.Message", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    reply_to_external_id = fields.CharField(max_length=255, null=True)
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.RECEIVED)
    error_code = fields.CharField(max_length=100, null=True)
    error_text = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    auto_submitted = fields.BooleanField(default=False)
    reactions = fields.JSONField(default=dict)
    metadata = fields.JSONField(default=dict)
    provider_timestamp = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    status_changed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    read_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    edited_at = fields.DatetimeField(null=True)
    #: When a queued reply is due (again): a retry's backoff, or its turn after an earlier reply.
    next_attempt_at = fields.DatetimeField(null=True)
    #: The fencing token of the reply's last delivery claim (see nexus.lease).
    claim_token = fields.CharField(max_length=32, null=True)
    #: Until when a sending claim is valid without a heartbeat from its worker.
    lease_expires_at = fields.DatetimeField(null=True)

    attachments: fields.ReverseRelation[Attachment]

    class Meta:
        table = "messages"
        unique_together = (("channel", "external_id"),)
        indexes = (("ticket", "created_at"), ("status", "next_attempt_at"), ("status", "status_changed_at"))


class Attachment(Model):
    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "nexus.Message", related_name="attachments", on_delete=fields.CASCADE, db_index=True
    )
    filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=255)
    size = fields.BigIntField(default=0)
    #: Where the bytes are in the attachment storage; NULL for a placeholder (see ``note``).
    storage_key = fields.CharField(max_length=500, null=True)
    sha256 = fields.CharField(max_length=64, null=True)
    content_id = fields.CharField(max_length=255, null=True)
    note = fields.TextField(null=True)
    # Shown in place by the message's HTML (a cid: image), not listed as a loose file.
    inline = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attachments"


class PendingStatus(Model):
    """A delivery-status report for a message id we do not know yet; applied when it appears."""

    id = fields.IntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "nexus.Channel", related_name="pending_statuses", on_delete=fields.CASCADE
    )
    external_id = fields.CharField(max_length=255)
    status = fields.CharEnumField(DeliveryStatus, max_length=16)
    at = fields.DatetimeField(null=True)
    error_code = fields.CharField(max_length=100, null=True)
    error_text = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pending_statuses"
        indexes = (("channel", "external_id"),)


class CannedResponse(Timestamped):
    id = fields.IntField(primary_key=True)
    shortcut = fields.CharField(max_length=64, unique=True)
    title = fields.CharField(max_length=200, null=True)
    body = fields.TextField()

    class Meta:
        table = "canned_responses"


class InboundEvent(Model):
    """A raw webhook payload, stored before it is processed: the provider gets its 200 as soon
    as this row is committed, and a payload that fails to process stays here with its error
    for operators to see and replay. An inbound message the pipeline kept aside on purpose (an
    automatic message that threads into no ticket) is kept here too, ``ignored``, with its
    ``external_id`` (unique per channel, so a redelivery is kept once)."""

    id = fields.IntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "nexus.Channel", related_name="inbound_events", on_delete=fields.CASCADE
    )
    # The body as UTF-8 text, or base64 (``payload_encoding``) when it is not UTF-8 or holds
    # NUL bytes: see nexus.payloads.
    payload = fields.TextField()
    payload_encoding = fields.CharField(max_length=16, default="utf-8")
    headers = fields.JSONField(default=dict)
    #: pending, processing, processed or failed.
    status = fields.CharField(max_length=16, default="pending", db_index=True)
    # (or ignored: kept aside by the pipeline.) Why processing failed; for an ignored event,
    # why it was ignored.
    error = fields.TextField(null=True)
    external_id = fields.CharField(max_length=255, null=True)
    attempts = fields.IntField(default=0)
    received_at = fields.DatetimeField(auto_now_add=True)
    status_changed_at = fields.DatetimeField(null=True)
    processed_at = fields.DatetimeField(null=True)
    #: The fencing token of the payload's last processing claim (see nexus.lease).
    claim_token = fields.CharField(max_length=32, null=True)
    #: Until when a processing claim is valid without a heartbeat from its processor.
    lease_expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbound_events"
        unique_together = (("channel", "external_id"),)


MODELS_MODULE = __name__
