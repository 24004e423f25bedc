"""Who wrote: a WhatsApp user as a Nexus :class:`~nexus.Identity`.

WhatsApp reports some numbers in two spellings. Brazilian mobile numbers gained a ninth digit
in 2012-2016, yet ``wa_id`` still arrives with or without it: ``553188887777`` and
``5531988887777`` are both ``+55 31 98888-7777``. Mexican mobiles arrive as ``521`` + ten
digits although ``52`` + ten digits is the number since 2019. Both spellings share one
canonical ``key`` (so one contact), while replies go to the ``address`` exactly as received.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nexus import Identity


def is_phone_number(address: str) -> bool:
    """A ``wa_id`` (digits) rather than a business-scoped user id such as ``US.1349...``."""
    return address.lstrip("+").isdigit()


def canonical_wa_id(wa_id: str) -> str:
    """The one spelling of a WhatsApp user's number: digits only, country code first, with
    Brazil's ninth digit and without Mexico's legacy mobile ``1``. Anything that is not a phone
    number (a business-scoped user id) is returned as it is."""
    if not is_phone_number(wa_id):
        return wa_id
    digits = wa_id.lstrip("+")
    # Brazil: 55 + two-digit area code + eight digits; mobiles (6-9) take a leading 9.
    if digits.startswith("55") and len(digits) == 12 and digits[4] in "6789":
        return digits[:4] + "9" + digits[4:]
    # Mexico: 521 + ten digits is the pre-2019 mobile spelling of 52 + ten digits.
    if digits.startswith("521") and len(digits) == 13:
        return "52" + digits[3:]
    return digits


def sender_identity(address: str, contact: Mapping[str, Any] | None = None) -> Identity:
    """The identity of a WhatsApp user who wrote from ``address`` (their ``wa_id`` as received),
    with the name and ids of their entry in the webhook's ``contacts`` block. A ``wa_id`` is
    the user's phone number: it becomes the identity's ``phone`` (``+`` and the canonical
    digits), which fills the contact's phone. A business-scoped user id carries no phone."""
    key = canonical_wa_id(address)
    contact = contact or {}
    profile_block = contact.get("profile")
    if not isinstance(profile_block, Mapping):
        profile_block = {}
    profile: dict[str, Any] = {}
    phone = None
    if is_phone_number(address):
        phone = "+" + key
        profile["phone"] = phone
        profile["wa_id"] = address
    for field in ("user_id", "parent_user_id"):
        if contact.get(field):
            profile[field] = contact[field]
    if profile_block.get("username"):
        profile["username"] = profile_block["username"]
    name = profile_block.get("name")
    return Identity(
        address=address,
        key=key,
        display_name=str(name) if name else None,
        profile=profile,
        phone=phone,
    )
