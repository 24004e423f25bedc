"""A local Bot API server for the tests, and builders of updates in the documented format.

:class:`FakeBotAPI` speaks the Bot API's wire format over real HTTP, so aiogram runs unchanged
against it: methods are POSTed (form-encoded, or multipart with files) to
``/bot<token>/<method>`` and answered ``{"ok": true, "result": ...}`` or ``{"ok": false,
"error_code", "description", "parameters"}``; files download from ``/file/bot<token>/<path>``.
``getUpdates`` long-polls and confirms the updates below its ``offset``, and refuses to run while
a webhook is set, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import time
from typing import Any

from aiohttp import web
from nexus_telegram import SECRET_HEADER

from nexus.testing import ApiResponse, FakeProvider, RecordedRequest, Reply, RunningNexus
from nexus.types import AttachmentView

TOKEN = "123456789:AAFakeTokenForNexusTests-0123456789"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Nexus Support",
    "username": "nexus_support_bot",
}
DOWNLOAD_LIMIT = 20 * 1024 * 1024
METHOD_PATH = "/bot{token}/{method}"
CHANNEL = "tg"
PUBLIC_URL = "https://support.example.com"


def error(code: int, description: str, **parameters: Any) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status=code, json=body)


def ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def parameters(request: RecordedRequest) -> dict[str, Any]:
    """A method call's parameters, with uploads in place of their ``attach://<part>``
    references (files are dicts of ``filename``, ``content_type`` and ``data``)."""
    form = dict(request.form())
    for name, value in form.items():
        if isinstance(value, str) and value.startswith("attach://"):
            form[name] = form[value.removeprefix("attach://")]
    return form


class FakeBotAPI(FakeProvider):
    """Telegram's Bot API for one bot, on a loopback port."""

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        #: Updates not yet confirmed by a ``getUpdates`` offset.
        self.pending: list[dict[str, Any]] = []
        #: ``setWebhook``'s parameters while a webhook is set.
        self.webhook: dict[str, Any] | None = None
        self.files: dict[str, dict[str, Any]] = {}
        self._update_ids = itertools.count(700_000_001)
        self._message_ids = itertools.count(9001)
        self._changed = asyncio.Condition()
        self._closing = False
        self.route("POST", METHOD_PATH, self._method)
        self.route("GET", "/file/bot{token}/{path:.+}", self._download)

    async def stop(self) -> None:
        self._closing = True  # release long polls still waiting
        async with self._changed:
            self._changed.notify_all()
        await super().stop()

    # --- Scripting ---------------------------------------------------------------------

    def update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A new update of ``kind`` (``"message"``, ``"callback_query"``...), not queued."""
        return {"update_id": next(self._update_ids), kind: payload}

    async def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for ``getUpdates``, as Telegram does when something happens."""
        return await self.push_update(self.update(kind, payload))

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        async with self._changed:
            self.pending.append(update)
            self._changed.notify_all()
        return update

    async def unconfirm(self, updates: list[dict[str, Any]]) -> None:
        """Make ``updates`` pending again, as if their confirmation never reached Telegram."""
        async with self._changed:
            known = {u["update_id"] for u in self.pending}
            self.pending = sorted(
                [*self.pending, *(u for u in updates if u["update_id"] not in known)],
                key=lambda u: u["update_id"],
            )
            self._changed.notify_all()

    def add_file(self, data: bytes | None, path: str, *, size: int | None = None) -> dict[str, Any]:
        """A file Telegram holds; returns its ``file_id``/``file_unique_id``/``file_size``."""
        unique = hashlib.sha1(path.encode()).hexdigest()[:12]
        file_id = f"FILE-{unique}"
        self.files[file_id] = {
            "path": path,
            "data": data,
            "size": size if size is not None else len(data or b""),
        }
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_size": self.files[file_id]["size"],
        }

    def fail_method(
        self, method: str, code: int, description: str, *, times: int = 1, **parameters: Any
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with a Bot API error."""
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.fail(times, status=code, json=body, method="POST", path=f"/bot{{token}}/{method}")

    # --- Reading back ------------------------------------------------------------------

    def calls(self, method: str, *, succeeded: bool | None = True) -> list[dict[str, Any]]:
        """The parameters of each call of ``method`` (form fields; files as dicts)."""
        return [
            parameters(r)
            for r in self.requests_to("POST", f"/bot{{token}}/{method}", succeeded=succeeded)
        ]

    def sent(self) -> list[dict[str, Any]]:
        """Every message the bot sent, in order: ``method``, ``chat_id``, ``text``/``caption``,
        ``file`` and ``reply_to`` (the message id it answers)."""
        out = []
        for request in self.requests_to("POST", METHOD_PATH, succeeded=True):
            method = request.params["method"]
            if method not in ("sendMessage", "sendPhoto", "sendDocument"):
                continue
            form = parameters(request)
            reply = json.loads(form["reply_parameters"]) if form.get("reply_parameters") else {}
            out.append(
                {
                    "method": method,
                    "chat_id": form["chat_id"],
                    "text": form.get("text"),
                    "caption": form.get("caption"),
                    "file": form.get("photo") or form.get("document"),
                    "reply_to": reply.get("message_id"),
                }
            )
        return out

    # --- Serving -----------------------------------------------------------------------

    async def _method(self, request: RecordedRequest) -> Any:
        if request.params["token"] != self.token:
            return error(401, "Unauthorized")
        form = parameters(request)
        method = request.params["method"]
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return error(404, "Not Found")
        return await handler(form)

    async def _api_getMe(self, form: dict[str, Any]) -> Any:
        return ok(BOT_USER)

    async def _api_setWebhook(self, form: dict[str, Any]) -> Any:
        self.webhook = form
        return ok(True)

    async def _api_deleteWebhook(self, form: dict[str, Any]) -> Any:
        self.webhook = None
        return ok(True)

    async def _api_getUpdates(self, form: dict[str, Any]) -> Any:
        if self.webhook is not None:
            return error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(form.get("offset") or 0)
        timeout = float(form.get("timeout") or 0)
        limit = int(form.get("limit") or 100)
        async with self._changed:
            if offset:  # confirms every update below the offset
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            with contextlib.suppress(TimeoutError):  # a long poll that saw nothing new
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.pending or self._closing), timeout
                )
            return ok(self.pending[:limit])

    async def _api_getFile(self, form: dict[str, Any]) -> Any:
        file = self.files.get(form["file_id"])
        if file is None:
            return error(400, "Bad Request: invalid file_id")
        if file["size"] > DOWNLOAD_LIMIT:
            return error(400, "Bad Request: file is too big")
        return ok(
            {
                "file_id": form["file_id"],
                "file_unique_id": form["file_id"][5:],
                "file_size": file["size"],
                "file_path": file["path"],
            }
        )

    async def _api_sendMessage(self, form: dict[str, Any]) -> Any:
        return ok({**self._sent_message(form), "text": form["text"]})

    async def _api_sendPhoto(self, form: dict[str, Any]) -> Any:
        photo = self.add_file(form["photo"]["data"], f"photos/{form['photo']['filename']}")
        return ok(
            {
                **self._sent_message(form),
                "photo": [{**photo, "width": 640, "height": 480}],
                **({"caption": form["caption"]} if form.get("caption") else {}),
            }
        )

    async def _api_sendDocument(self, form: dict[str, Any]) -> Any:
        document = self.add_file(
            form["document"]["data"], f"documents/{form['document']['filename']}"
        )
        return ok(
            {
                **self._sent_message(form),
                "document": {**document, "file_name": form["document"]["filename"]},
                **({"caption": form["caption"]} if form.get("caption") else {}),
            }
        )

    async def _api_answerCallbackQuery(self, form: dict[str, Any]) -> Any:
        return ok(True)

    def _sent_message(self, form: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(form["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        return {
            "message_id": next(self._message_ids),
            "from": BOT_USER,
            "chat": chat,
            "date": int(time.time()),
        }

    async def _download(self, request: RecordedRequest) -> Any:
        if request.params["token"] != self.token:
            return web.Response(status=401)
        for file in self.files.values():
            if file["path"] == request.params["path"] and file["data"] is not None:
                return web.Response(body=file["data"])
        return web.Response(status=404, text="Not Found")


# --- Update payloads, as the Bot API documents them ---------------------------------------

DATE = 1767225600  # 2026-01-01T00:00:00Z


def user(
    user_id: int = 555001,
    first_name: str = "Casey",
    last_name: str | None = "Contact",
    *,
    username: str | None = "casey",
    language_code: str = "en",
) -> dict[str, Any]:
    fields = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "last_name": last_name,
        "username": username,
        "language_code": language_code,
    }
    return {k: v for k, v in fields.items() if v is not None}


def private_chat(person: dict[str, Any]) -> dict[str, Any]:
    fields = {
        "id": person["id"],
        "type": "private",
        "first_name": person["first_name"],
        "last_name": person.get("last_name"),
        "username": person.get("username"),
    }
    return {k: v for k, v in fields.items() if v is not None}


def group_chat(chat_id: int = -1001234567890, title: str = "Customers Lounge") -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": title}


def message(
    message_id: int,
    *,
    sender: dict[str, Any] | None = None,
    chat: dict[str, Any] | None = None,
    date: int = DATE,
    **content: Any,
) -> dict[str, Any]:
    """A ``Message``: from ``sender`` (default :func:`user`) in ``chat`` (default their private
    chat with the bot), with ``content`` such as ``text=...`` or ``photo=[...]``."""
    sender = sender or user()
    return {
        "message_id": message_id,
        "from": sender,
        "chat": chat or private_chat(sender),
        "date": date,
        **content,
    }


# --- Nexus ------------------------------------------------------------------------------


def settings(api: FakeBotAPI, *, webhook: bool = False, **channel: Any) -> dict[str, Any]:
    """Nexus settings with one Telegram channel named ``tg`` on ``api``: long polling, or a
    webhook when ``webhook`` (which sets ``server.public_url``)."""
    config: dict[str, Any] = {
        "channels": {
            CHANNEL: {"type": "telegram", "token": TOKEN, "api_server": api.url, **channel}
        },
    }
    if webhook:
        config["server"] = {"public_url": PUBLIC_URL}
    return config


def channel_state(server: RunningNexus, name: str = CHANNEL) -> tuple[str, str | None]:
    """The channel's state and error, as ``GET /api/v1/channels`` shows them."""
    runtime = server.nexus.channels.get(name)
    assert runtime is not None, f"no channel {name!r}"
    return runtime.state, runtime.error


async def deliver(server: RunningNexus, api: FakeBotAPI, update: dict[str, Any]) -> ApiResponse:
    """POST ``update`` to the channel's webhook as Telegram does, with the registered secret;
    returns Nexus's answer, which comes once the update is stored."""
    assert api.webhook is not None, "no webhook registered"
    headers = {SECRET_HEADER: api.webhook["secret_token"], "Content-Type": "application/json"}
    return await server.post_webhook(CHANNEL, update, headers=headers)


async def reply(server: RunningNexus, ticket_id: int, text: str, **fields: Any) -> int:
    """An agent's reply through the REST API; returns the message's id."""
    status, body = await server.api(
        "POST",
        f"/tickets/{ticket_id}/messages",
        await server.admin_token(),
        {"body": text, **fields},
    )
    assert status == 202, body
    return body["id"]


async def attachment_bytes(server: RunningNexus, attachment: AttachmentView) -> bytes:
    """A stored attachment's content, downloaded as an agent would."""
    headers = {"Authorization": f"Bearer {await server.admin_token()}"}
    async with server.http.get(server.url + attachment.url, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.read()
