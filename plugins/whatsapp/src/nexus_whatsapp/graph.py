"""A small client for the Graph API calls the channel makes, all with the bearer token.

Errors come back as :class:`~nexus_whatsapp.errors.GraphAPIError`; network failures and
timeouts as :data:`nexus.http.NETWORK_ERRORS` (``aiohttp.ClientError``, ``TimeoutError``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from nexus.http import HttpAnswer, HttpClient
from nexus_whatsapp.errors import GraphAPIError

#: What ``start()`` reads about the phone number, to check the credentials and show operators.
PHONE_FIELDS = "display_phone_number,verified_name,quality_rating"


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """``GET /{media-id}``: where to download an inbound file (valid for five minutes)."""

    url: str
    mime_type: str | None
    sha256: str | None


class GraphClient:
    def __init__(
        self,
        *,
        base_url: str,
        version: str,
        phone_number_id: str,
        access_token: str,
        request_timeout: float,
        media_timeout: float,
    ) -> None:
        self.root = f"{base_url.rstrip('/')}/{version}"
        self.phone_number_id = phone_number_id
        self._media_timeout = media_timeout
        self.http = HttpClient(
            self.root, bearer=access_token, timeout=request_timeout, provider="the Graph API"
        )

    async def open(self) -> None:
        await self.http.open()

    async def close(self) -> None:
        await self.http.close()

    # --- Calls -------------------------------------------------------------------------

    async def phone_number(self) -> dict[str, Any]:
        """The business phone number's display number, verified name and quality rating."""
        return await self._json("GET", self.phone_number_id, params={"fields": PHONE_FIELDS})

    async def send_message(self, body: Mapping[str, Any]) -> str:
        """``POST /{phone-number-id}/messages``; returns the new message's ``wamid``."""
        answer = await self._json("POST", f"{self.phone_number_id}/messages", json=dict(body))
        try:
            return str(answer["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise GraphAPIError(
                502, title="Graph API accepted the message but returned no message id"
            ) from None

    async def upload_media(self, data: bytes, filename: str, content_type: str) -> str:
        """``POST /{phone-number-id}/media`` (multipart); returns the media id. The upload's
        filename is made ASCII: the name WhatsApp shows is the document message's own."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", content_type)
        form.add_field("file", data, filename=ascii_filename(filename), content_type=content_type)
        answer = await self._json(
            "POST", f"{self.phone_number_id}/media", data=form, timeout=self._media_timeout
        )
        if not answer.get("id"):
            raise GraphAPIError(502, title="Graph API accepted the upload but returned no media id")
        return str(answer["id"])

    async def media_info(self, media_id: str) -> MediaInfo:
        """``GET /{media-id}``, checked to belong to this phone number."""
        answer = await self._json("GET", media_id, params={"phone_number_id": self.phone_number_id})
        if not answer.get("url"):
            raise GraphAPIError(
                502, title=f"Graph API returned no download URL for media {media_id}"
            )
        return MediaInfo(
            url=str(answer["url"]), mime_type=answer.get("mime_type"), sha256=answer.get("sha256")
        )

    async def download(self, url: str) -> bytes:
        """The file behind a media URL; the download needs the bearer token too."""
        answer = await self.http.request("GET", url, timeout=self._media_timeout)
        if answer.status >= 400:
            raise GraphAPIError.from_response(answer.status, answer.json(), answer.headers)
        return answer.body

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer: HttpAnswer = await self.http.request(method, path, **kwargs)
        body = answer.json()
        if answer.status >= 400:
            raise GraphAPIError.from_response(answer.status, body, answer.headers)
        if not isinstance(body, dict):
            raise GraphAPIError(
                502, title=f"Graph API answered {method} {path} with something other than JSON"
            )
        return body


def ascii_filename(filename: str) -> str:
    """``filename`` with accents dropped and anything else outside ``[A-Za-z0-9._-]`` as ``_``."""
    plain = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]", "_", plain).strip("_") or "file"
