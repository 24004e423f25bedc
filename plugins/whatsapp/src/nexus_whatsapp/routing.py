"""Which instance a webhook delivery is for.

Meta posts every event of an app to one callback URL, and a delivery's changes each name their
business number in ``value.metadata.phone_number_id``. Each running instance registers here
under its number, so the instance whose URL received a delivery can hand changes for its
siblings (other numbers of the same Meta app, so the same app secret) to them.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from pydantic import SecretStr

from nexus import ChannelHost


class _Config(Protocol):
    phone_number_id: str
    app_secret: SecretStr


class Routable(Protocol):
    name: str
    host: ChannelHost

    @property
    def config(self) -> _Config: ...


class Directory:
    """The running instances of this process, by phone number id."""

    def __init__(self) -> None:
        self._by_number: dict[str, Routable] = {}

    def add(self, instance: Routable) -> None:
        number = instance.config.phone_number_id
        current = self._by_number.get(number)
        if current is not None and current is not instance:
            raise ValueError(
                f"phone_number_id {number} is already served by channel {current.name!r}; "
                "each WhatsApp number needs exactly one channel"
            )
        self._by_number[number] = instance

    def remove(self, instance: Routable) -> None:
        if self._by_number.get(instance.config.phone_number_id) is instance:
            del self._by_number[instance.config.phone_number_id]

    def sibling(self, of: Routable, phone_number_id: str) -> Routable | None:
        """The instance serving ``phone_number_id`` if it belongs to the same Meta app as ``of``
        (the app secret that signed the delivery), else None."""
        other = self._by_number.get(phone_number_id)
        if other is None or other is of:
            return None
        same_app = hmac.compare_digest(
            other.config.app_secret.get_secret_value().encode(),
            of.config.app_secret.get_secret_value().encode(),
        )
        return other if same_app else None


def split_by_number(payload: Any) -> dict[str | None, dict[str, Any]]:
    """A delivery cut into one delivery per business number (None: changes that name none,
    such as account updates). Entries keep their id; each keeps only its number's changes."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("entry"), list):
        return {}
    parts: dict[str | None, dict[str, Any]] = {}
    for entry in payload["entry"]:
        if not isinstance(entry, Mapping):
            continue
        for number, change in _changes(entry):
            part = parts.setdefault(number, {"object": payload.get("object"), "entry": []})
            entries = part["entry"]
            if not entries or entries[-1]["id"] != entry.get("id"):
                entries.append({"id": entry.get("id"), "changes": []})
            entries[-1]["changes"].append(change)
    return parts


def readable_parts(body: bytes) -> dict[str | None, dict[str, Any]]:
    """:func:`split_by_number` of a raw body, or ``{}`` when the body cannot be read at all
    (not UTF-8, not JSON, nested too deeply): such a body is stored whole and fails there."""
    try:
        return split_by_number(json.loads(body))
    except (ValueError, RecursionError):
        return {}


def encode(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON with ``\\uXXXX`` escapes, as Meta sends it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def _changes(entry: Mapping[str, Any]) -> Iterator[tuple[str | None, Any]]:
    changes = entry.get("changes")
    # A malformed entry ("changes": 5) names no number: it stays with this instance, whose
    # processing reports what is wrong with it.
    for change in changes if isinstance(changes, list) else [changes]:
        value = change.get("value") if isinstance(change, Mapping) else None
        metadata = value.get("metadata") if isinstance(value, Mapping) else None
        number = metadata.get("phone_number_id") if isinstance(metadata, Mapping) else None
        yield (str(number) if number is not None else None), change
