"""What the widget receives: a message as the visitor may see it, and nothing more (no
agent ids, no provider data, never a private note)."""

from __future__ import annotations

from typing import Any

from nexus.types import MessageView

#: Replies the visitor sees: those pushed to them, not the ones still queued or failed.
SHOWN = ("sent", "delivered", "read")


def client_id_of(message: MessageView) -> str | None:
    """The widget's own id for a message the visitor sent (``in:<visitor>:<client id>``)."""
    if message.direction == "inbound" and message.external_id and message.external_id.startswith("in:"):
        return message.external_id.split(":", 2)[2]
    return None


def visible(message: MessageView) -> bool:
    return not message.private and (message.direction == "inbound" or message.status in SHOWN)


def widget_message(message: MessageView) -> dict[str, Any]:
    return {
        "id": message.id,
        "client_id": client_id_of(message),
        "from": "visitor" if message.direction == "inbound" else "agent",
        "text": message.text or "",
        "attachments": [
            {"id": a.id, "name": a.filename, "type": a.content_type, "size": a.size, "stored": a.note is None}
            for a in message.attachments
        ],
        "at": message.created_at.isoformat(),
        "status": message.status,
    }
