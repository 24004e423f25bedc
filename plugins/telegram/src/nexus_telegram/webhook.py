"""Webhook mode: Telegram POSTs each update to ``/webhooks/telegram/<channel>``.

Telegram does not sign bodies. The only proof that a request comes from Telegram is the
``X-Telegram-Bot-Api-Secret-Token`` header, which repeats the secret given to ``setWebhook``.
The secret is generated once per channel instance and shared by every process through the
host's state, so whichever process registers the webhook, all of them accept it.
"""

from __future__ import annotations

import secrets

from nexus import WebhookRequest
from nexus.http import signatures_match

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: The host state key of the generated secret.
SECRET_KEY = "webhook_secret"


def new_secret() -> str:
    """A secret as ``setWebhook`` takes it: 1-256 characters of ``A-Z a-z 0-9 _ -``."""
    return secrets.token_urlsafe(32)


def has_secret(request: WebhookRequest, secret: str) -> bool:
    """True when the request carries ``secret``, compared in constant time."""
    return bool(secret) and signatures_match(request.header(SECRET_HEADER), secret)
