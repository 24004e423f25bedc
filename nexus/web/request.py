"""The request class of the Nexus app: how much body a request may send, and strict JSON.

Quart buffers a request's body as it arrives, up to the limit the request was created with,
whether or not the handler reads it. So the limit is chosen when the request is created, from
what is known then:

* ``POST /api/v1/auth/login`` and every request without an ``Authorization`` header get
  :data:`PUBLIC_BODY_LIMIT` (a few KB);
* a reply (``POST /api/v1/tickets/<id>/messages``, which carries attachments) from a request
  with credentials gets the app's ``MAX_CONTENT_LENGTH``; other requests with credentials
  get :data:`AUTHENTICATED_BODY_LIMIT`. Handlers check the token before they read the body,
  so a request with a bad token is answered 401 without its body being read;
* webhooks and plugins' routes keep the app's limit: their handlers stream the body and
  enforce the limit their channel or route declares (:attr:`NexusRequest.self_limited`).

JSON bodies are parsed strictly: UTF-8 only, no ``NaN`` or ``Infinity``, no NUL character in
any string, and at most :data:`MAX_DEPTH` levels of nesting. Each breach is a 4xx that names
the problem, never a 500 further down.
"""

from __future__ import annotations

import json
import re
from typing import Any

from quart import Request

from nexus.web.errors import ApiError, field_error

#: The largest body of an unauthenticated request: the largest login the schema allows
#: (320 + 1000 characters, each up to 12 bytes as JSON escapes) fits.
PUBLIC_BODY_LIMIT = 16 * 1024
#: The largest body of an authenticated request other than a reply (a canned response of
#: 100,000 characters fits).
AUTHENTICATED_BODY_LIMIT = 1024 * 1024
UPLOAD_PATH = re.compile(r"^/api/v1/tickets/[0-9]+/messages$")
#: The deepest nesting of arrays and objects a JSON body may have.
MAX_DEPTH = 32
LOGIN_PATH = "/api/v1/auth/login"
WEBHOOKS_PREFIX = "/webhooks/"


def body_limit_for(method: str, path: str, has_credentials: bool, default: int | None,
                   self_limited: tuple[str, ...] = (WEBHOOKS_PREFIX,)) -> int | None:
    """The body limit of a request to ``path``; ``default`` is the app's limit. Paths under
    ``self_limited`` prefixes keep it: their handlers enforce a limit of their own."""
    if path.startswith(self_limited):
        return default
    if path == LOGIN_PATH or not has_credentials:
        limit = PUBLIC_BODY_LIMIT
    elif method == "POST" and UPLOAD_PATH.match(path):
        return default
    else:
        limit = AUTHENTICATED_BODY_LIMIT
    return limit if default is None else min(limit, default)


class NexusRequest(Request):
    #: Path prefixes whose handlers enforce their own body limit while streaming it in.
    self_limited: tuple[str, ...] = (WEBHOOKS_PREFIX,)

    @classmethod
    def limiting(cls, prefixes: list[str]) -> type[NexusRequest]:
        """This class, with ``prefixes`` (plugins' route prefixes) also limiting themselves."""
        extra = tuple(prefix.rstrip("/") + "/" for prefix in prefixes)
        return type(cls.__name__, (cls,), {"self_limited": cls.self_limited + extra})

    def __init__(self, method: str, scheme: str, path: str, query_string: bytes, headers: Any,
                 root_path: str, http_version: str, scope: Any, *, max_content_length: int | None = None,
                 **kwargs: Any) -> None:
        self.body_limit = body_limit_for(method, path, "authorization" in headers, max_content_length,
                                         self.self_limited)
        super().__init__(method, scheme, path, query_string, headers, root_path, http_version, scope,
                         max_content_length=self.body_limit, **kwargs)
        self.max_content_length = self.body_limit

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The body parsed as JSON (None when it is empty). A non-empty body that is not sent as
        ``application/json`` is a 415."""
        raw = await self.get_data(cache=True)
        if not raw.strip():
            return None
        if not (force or self.is_json):
            if silent:
                return None
            raise ApiError(415, "unsupported_media_type",
                           f"the body must be JSON sent with 'Content-Type: application/json', not "
                           f"{self.mimetype or 'no Content-Type'!r}",
                           [{"field": "Content-Type", "problem": "must be application/json"}])
        try:
            return parse_json(raw)
        except ApiError:
            if silent:
                return None
            raise


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """``raw`` as JSON, or an :class:`ApiError` naming what is wrong with it."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the request body is not UTF-8 text (byte {exc.start})",
                       [{"field": "body", "problem": "not UTF-8"}]) from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(400, "invalid_json", f"the request body is nested more than {MAX_DEPTH} levels deep",
                       [{"field": "body", "problem": "nested too deeply"}]) from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the request body is not valid JSON: {exc}",
                       [{"field": "body", "problem": "not valid JSON"}]) from None
    check_values(value)
    return value


def check_values(value: Any) -> None:
    """Refuse NUL characters (no database stores them in text) and deep nesting (no use, and
    costly everywhere the value goes) anywhere in a parsed body."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise field_error(422, "invalid_request", ".".join(path[:MAX_DEPTH]) + ".…",
                              f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            if "\x00" in item:
                raise field_error(422, "invalid_request", ".".join(path) or "body", "contains a NUL character")
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    raise field_error(422, "invalid_request", ".".join(path) or "body",
                                      "a key contains a NUL character")
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, str(index))) for index, child in enumerate(item))
