"""Inbound messages the pipeline keeps aside on purpose, such as an out-of-office reply that
threads into no ticket: never lost, listed under ``/api/v1/inbound-events?status=ignored``
with the reason, and kept once however often the provider delivers them."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from nexus.clock import now
from nexus.db import models
from nexus.payloads import encode_payload
from nexus.types import InboundMessage, to_json

IGNORED = "ignored"


def message_document(message: InboundMessage, received: datetime) -> dict[str, Any]:
    """Everything the message held, as JSON: its files base64-encoded."""
    document = to_json(dataclasses.replace(message, attachments=()))
    document["attachments"] = [
        {"filename": a.filename, "content_type": a.content_type, "content_id": a.content_id, "note": a.note,
         "size": len(a.data or b""), "data_base64": base64.b64encode(a.data).decode("ascii") if a.data else None}
        for a in message.attachments
    ]
    return {"kind": "inbound_message", "received_at": received.isoformat(), "message": document}


async def keep_ignored(channel_id: int, message: InboundMessage, reason: str, received: datetime) -> bool:
    """Keep ``message`` as an ignored inbound event; False when it already was (a redelivery).
    The unique ``(channel, external_id)`` decides, so two deliveries at once keep one."""
    text, encoding = encode_payload(json.dumps(message_document(message, received), ensure_ascii=False).encode())
    try:
        await models.InboundEvent.create(
            channel_id=channel_id, payload=text, payload_encoding=encoding, headers={},
            status=IGNORED, error=reason, external_id=message.external_id[:255],
            status_changed_at=now(), processed_at=received,
        )
    except IntegrityError:
        return False
    return True
