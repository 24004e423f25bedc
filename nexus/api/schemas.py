"""Request and response shapes of the REST API. Responses reuse the views of
:mod:`nexus.types`, which Socket.IO events and plugin hooks share."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus.types import ContactView, MessageView, TicketView


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    ttl_days: float | None = Field(None, ge=0, description="0 for a token that never expires")


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
    channel: str | None = Field(None, description="a channel name")
    priority: str | None = None
    label: str | None = None
    q: str | None = Field(None, max_length=200, description="words in the subject, the contact's details or the messages (the last word also as a prefix); '#123' finds ticket 123")
    sort: Literal["relevance", "recent"] = Field("relevance", description="with q: best matches first, or the most recent activity first")
    cursor: str | None = None
    limit: int = Field(25, ge=1, le=100)


class TicketPatch(Strict):
    status: Literal["open", "pending", "snoozed", "resolved"] | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    labels: list[str] | None = Field(None, max_length=50)
    snoozed_until: datetime | None = None
    subject: str | None = Field(None, max_length=500)


class TicketPage(BaseModel):
    items: list[TicketView]
    next_cursor: str | None


class AttachmentIn(Strict):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field("application/octet-stream", max_length=255)
    data: str = Field(description="the file's bytes, base64-encoded")


class MessageIn(Strict):
    body: str | None = Field(None, max_length=100_000, description="the text; may be empty when there are attachments")
    html: str | None = Field(None, max_length=500_000)
    private: bool = Field(False, description="a private note, never sent to the contact")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)
    reply_to_id: int | None = None
    canned_response_id: int | None = Field(None, description="use this canned response, placeholders filled, as the body")
    template: dict[str, Any] | None = Field(None, description="a channel template (WhatsApp: name, language, components)")


class MessageQuery(Strict):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)
    order: Literal["asc", "desc"] = "asc"


class MessagePage(BaseModel):
    items: list[MessageView]
    next_cursor: str | None


class DeliveryQuery(Strict):
    status: Literal["queued", "sending", "sent", "delivered", "read", "failed"] = "failed"
    channel: str | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class InboundEventQuery(Strict):
    status: Literal["pending", "processing", "processed", "failed"] = "failed"
    channel: str | None = None
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
    attributes: dict[str, Any] | None = None


class ContactPage(BaseModel):
    items: list[ContactView]
    next_cursor: str | None


# --- Administration ------------------------------------------------------------------------


class AgentIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "agent"] = "agent"
    password: str | None = Field(None, min_length=8, max_length=1000)
    team_ids: list[int] = Field(default_factory=list)


class AgentPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    role: Literal["admin", "agent"] | None = None
    password: str | None = Field(None, min_length=8, max_length=1000)
    is_active: bool | None = None
    available: bool | None = None
    team_ids: list[int] | None = None


class TeamIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    auto_assign: bool = False
    member_ids: list[int] = Field(default_factory=list)


class TeamPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=100)
    auto_assign: bool | None = None
    member_ids: list[int] | None = None


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
    shortcut: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[\w.-]+$")
    title: str | None = Field(None, max_length=200)
    body: str | None = Field(None, min_length=1, max_length=100_000)


class CannedOut(BaseModel):
    id: int
    shortcut: str
    title: str | None
    body: str
    created_at: datetime


class RenderIn(Strict):
    ticket_id: int


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
    details: dict[str, Any]


class ItemList(BaseModel):
    items: list[Any]
