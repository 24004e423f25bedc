"""Request and response shapes of the REST API. Responses reuse the views of
:mod:`nexus.types`, which Socket.IO events and plugin hooks share."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from nexus.api.ids import Id
from nexus.mime import CONTENT_TYPE_PATTERN, valid_filename
from nexus.types import ContactView, MessageView, TicketView

#: The largest ``attributes`` object of a contact, as JSON.
MAX_ATTRIBUTES_SIZE = 16 * 1024
#: Longest token lifetime, in days.
MAX_TTL_DAYS = 3650


class Strict(BaseModel):
    """A request body: unknown fields are errors, and so are NaN and Infinity.

    Optional fields of patches that cannot be cleared are typed without ``None`` but default
    to it: leaving them out changes nothing, and an explicit ``null`` is a 422."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _filename(value: str) -> str:
    if not valid_filename(value):
        raise ValueError("must not be blank or contain control characters")
    return value


def _attributes(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    for key in ("email", "phone"):
        if key in value:
            raise ValueError(f"{key!r} is a field of the contact itself: send it as `{key}`, not in attributes")
    if len(json.dumps(value)) > MAX_ATTRIBUTES_SIZE:
        raise ValueError(f"at most {MAX_ATTRIBUTES_SIZE} bytes of JSON")
    return value


def _future_time(value: datetime | None) -> datetime | None:
    """A time a ticket can wake at: with a zone (UTC if none), within ten years."""
    if value is None:
        return None
    try:
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    if value > datetime.now(UTC) + timedelta(days=MAX_TTL_DAYS):
        raise ValueError(f"at most {MAX_TTL_DAYS} days ahead")
    return value


Filename = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_filename)]
WakeTime = Annotated[datetime, AfterValidator(_future_time)]
Attributes = Annotated[dict[str, Any], AfterValidator(_attributes)]


# --- Auth ----------------------------------------------------------------------------------


class LoginIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


class AgentOut(BaseModel):
    id: int
    name: str
    email: str
    role: Literal["admin", "agent"]
    is_active: bool
    available: bool
    team_ids: list[int]
    created_at: datetime


class LoginOut(BaseModel):
    token: str
    expires_at: datetime | None
    agent: AgentOut


class TokenIn(Strict):
    name: str = Field("api", min_length=1, max_length=100)
    ttl_days: float | None = Field(None, ge=0, le=MAX_TTL_DAYS,
                                   description="lifetime in days; 0 for a token that never expires; "
                                               "left out, `auth.token_ttl`")


class PasswordIn(Strict):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=8, max_length=1000)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    token: str | None = Field(None, description="Shown once, when the token is created")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


# --- Tickets -------------------------------------------------------------------------------


class TicketQuery(Strict):
    status: str | None = Field(None, description="open, pending, snoozed or resolved; comma-separated for several")
    assignee: str | None = Field(None, description="'me', 'none' or an agent id")
    team: str | None = Field(None, description="a team id, or 'none'")
    channel: str | None = Field(None, max_length=64, description="a channel name")
    priority: str | None = Field(None, description="low, normal, high or urgent; comma-separated for several")
    label: str | None = Field(None, max_length=100)
    q: str | None = Field(None, max_length=200, description="words in the subject, the contact's name or the messages; '#123' finds ticket 123")
    sort: Literal["relevance", "recent"] = Field("relevance", description="with q: best matches first, or the most recent activity first")
    cursor: str | None = None
    limit: int = Field(25, ge=1, le=100)


class TicketPatch(Strict):
    status: Literal["open", "pending", "snoozed", "resolved"] = None  # type: ignore[assignment]
    priority: Literal["low", "normal", "high", "urgent"] = None  # type: ignore[assignment]
    assignee_id: Id | None = Field(None, description="an agent id; null to unassign")
    team_id: Id | None = Field(None, description="a team id; null for no team")
    labels: list[Annotated[str, Field(max_length=100)]] = Field(None, max_length=50)  # type: ignore[assignment]
    snoozed_until: WakeTime | None = Field(None, description="when a snoozed ticket reopens; null to clear")
    subject: str | None = Field(None, max_length=500)


class TicketPage(BaseModel):
    items: list[TicketView]
    next_cursor: str | None


class AttachmentIn(Strict):
    filename: Filename
    content_type: str = Field("application/octet-stream", max_length=255, pattern=CONTENT_TYPE_PATTERN,
                              description="a MIME type such as `application/pdf`")
    data: str = Field(description="the file's bytes, base64-encoded")


class MessageIn(Strict):
    text: str | None = Field(None, max_length=100_000,
                             description="the text, as messages return it; may be empty when there are attachments")
    body: str | None = Field(None, max_length=100_000, json_schema_extra={"deprecated": True},
                             description="deprecated alias of `text`, accepted until 1.0")
    html: str | None = Field(None, max_length=500_000)
    private: bool = Field(False, description="a private note, never sent to the contact")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)
    reply_to_id: Id | None = None
    canned_response_id: Id | None = Field(None, description="use this canned response, placeholders filled, as the text")
    template: dict[str, Any] | None = Field(None, description="a channel template (WhatsApp: name, language, components)")

    @model_validator(mode="after")
    def _one_text(self) -> MessageIn:
        if self.text is not None and self.body is not None and self.text != self.body:
            raise ValueError("send the text as `text` only (`body` is its deprecated alias)")
        return self

    @property
    def content(self) -> str:
        return (self.text if self.text is not None else self.body) or ""


class MessageQuery(Strict):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)
    order: Literal["asc", "desc"] = "asc"


class MessagePage(BaseModel):
    items: list[MessageView]
    next_cursor: str | None


class DeliveryQuery(Strict):
    status: Literal["queued", "sending", "sent", "delivered", "read", "failed"] = "failed"
    channel: str | None = Field(None, max_length=64, description="a channel name")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class InboundEventQuery(Strict):
    status: Literal["pending", "processing", "processed", "failed", "ignored"] = "failed"
    channel: str | None = Field(None, max_length=64, description="a channel name")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


# --- Contacts ------------------------------------------------------------------------------


class ContactQuery(Strict):
    q: str | None = Field(None, max_length=200, description="words in names, emails, phones or addresses (substrings too; the last word also as a prefix)")
    sort: Literal["relevance", "recent"] = Field("relevance", description="with q: best matches first, or the newest contacts first")
    cursor: str | None = None
    limit: int = Field(25, ge=1, le=100)


class ContactPatch(Strict):
    name: str | None = Field(None, max_length=255)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=64)
    attributes: Attributes | None = Field(None, description="merged into the contact's attributes; a key "
                                                            "set to null is removed")


class ContactPage(BaseModel):
    items: list[ContactView]
    next_cursor: str | None


# --- Administration ------------------------------------------------------------------------


class AgentIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "agent"] = "agent"
    password: str | None = Field(None, min_length=8, max_length=1000)
    team_ids: list[Id] = Field(default_factory=list, max_length=1000)


class AgentPatch(Strict):
    name: str = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]
    role: Literal["admin", "agent"] = None  # type: ignore[assignment]
    password: str = Field(None, min_length=8, max_length=1000,  # type: ignore[assignment]
                          description="a new password; the agent's other tokens are revoked")
    is_active: bool = None  # type: ignore[assignment]
    available: bool = None  # type: ignore[assignment]
    team_ids: list[Id] = Field(None, max_length=1000)  # type: ignore[assignment]


class TeamIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    auto_assign: bool = False
    member_ids: list[Id] = Field(default_factory=list, max_length=10_000)


class TeamPatch(Strict):
    name: str = Field(None, min_length=1, max_length=100)  # type: ignore[assignment]
    auto_assign: bool = None  # type: ignore[assignment]
    member_ids: list[Id] = Field(None, max_length=10_000)  # type: ignore[assignment]


class TeamDeleteQuery(Strict):
    move_to: Id | None = Field(None, description="a team that takes over the tickets; left out, they lose "
                                                 "their team (and unassigned ones become visible to every agent)")


class TeamOut(BaseModel):
    id: int
    name: str
    auto_assign: bool
    member_ids: list[int]
    created_at: datetime


class CannedIn(Strict):
    shortcut: str = Field(min_length=1, max_length=64, pattern=r"^[\w.-]+$")
    title: str | None = Field(None, max_length=200)
    body: str = Field(min_length=1, max_length=100_000)


class CannedPatch(Strict):
    shortcut: str = Field(None, min_length=1, max_length=64, pattern=r"^[\w.-]+$")  # type: ignore[assignment]
    title: str | None = Field(None, max_length=200)
    body: str = Field(None, min_length=1, max_length=100_000)  # type: ignore[assignment]


class CannedOut(BaseModel):
    id: int
    shortcut: str
    title: str | None
    body: str
    created_at: datetime


class RenderIn(Strict):
    ticket_id: Id


class RenderOut(BaseModel):
    body: str


class ChannelOut(BaseModel):
    name: str
    type: str
    plugin: str | None
    enabled: bool
    state: str
    error: str | None
    last_error_at: datetime | None
    next_start_at: datetime | None = None
    """When this process tries again to start a channel whose start failed."""
    details: dict[str, Any]


class AgentList(BaseModel):
    items: list[AgentOut]


class TokenList(BaseModel):
    items: list[TokenOut]


class TeamList(BaseModel):
    items: list[TeamOut]


class CannedList(BaseModel):
    items: list[CannedOut]


class ChannelList(BaseModel):
    items: list[ChannelOut]


class InboundEventOut(BaseModel):
    id: int
    channel: str
    status: str
    error: str | None
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    payload: str | None = Field(None, description="the raw body, on the one-event endpoint")
    headers: dict[str, Any] | None = Field(None, description="the request's headers, on the one-event endpoint")


class InboundEventPage(BaseModel):
    items: list[InboundEventOut]
    next_cursor: str | None
