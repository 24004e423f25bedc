"""What every channel that talks to an HTTP API would otherwise write itself: part of the
plugin contract, so it imports nothing of the host.

* :class:`HttpClient`: one aiohttp session per channel instance, with the provider's base URL,
  credentials, a timeout and a ``User-Agent``. :meth:`HttpClient.call` is made for
  :meth:`nexus.Channel.send`: it returns the JSON of a successful answer and raises the right
  :class:`nexus.ChannelError` for everything else.
* :func:`error_for_status`, :func:`retry_after` and :func:`network_error`: the usual
  classification. 408, 425, 429 and 5xx are retried (after ``Retry-After`` when the provider
  sent one), other 4xx fail the message at once, and network errors and timeouts are retried.
* :func:`hmac_signature` and :func:`signatures_match`: webhook signatures, compared in
  constant time.

A channel's ``send()`` with it::

    async def start(self):
        self.api = await HttpClient(self.config.api_url, bearer=self.config.token.get_secret_value()).open()

    async def stop(self):
        await self.api.close()

    async def send(self, message):
        answer = await self.api.call("POST", "messages", json={"to": message.recipient.address, "text": message.text})
        return SendResult(external_id=str(answer["id"]))
"""

from __future__ import annotations

import base64
import email.utils
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp

from nexus.channel import ChannelError, PermanentError, RetryableError

__all__ = [
    "NETWORK_ERRORS",
    "HttpAnswer",
    "HttpClient",
    "UnreadablePayload",
    "describe_exception",
    "error_for_status",
    "hmac_signature",
    "network_error",
    "read_json",
    "retry_after",
    "retryable_status",
    "signatures_match",
]

class UnreadablePayload(ValueError):
    """A webhook body that cannot be read as JSON; the text says why. Subclass it for a
    channel's own errors and pass the subclass to :func:`read_json`."""


def read_json(body: bytes, error: type[UnreadablePayload] = UnreadablePayload) -> Any:
    """The JSON of a provider's body, or ``error`` saying why there is none: not UTF-8, not
    JSON (a raw NUL byte included), or nested too deeply for Python's parser. A verified body
    that cannot be read is best stored anyway (``host.store_raw``) so that ``process_raw``
    fails with this reason and operators see it."""
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise error(f"the body is not UTF-8 text: {exc}") from exc
    except ValueError as exc:
        raise error(f"the body is not JSON: {exc}") from exc
    except RecursionError:
        raise error("the body is nested too deeply to read") from None


#: What a request raises when the provider could not be reached or did not answer in time.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError)

#: Statuses worth retrying besides 5xx: timeout, too early, too many requests.
RETRYABLE_4XX = frozenset({408, 425, 429})


def _user_agent() -> str:
    from nexus import __version__  # the contract's own package: cheap, and no host module

    return f"nexus-helpdesk/{__version__} (+aiohttp/{aiohttp.__version__})"


def retryable_status(status: int) -> bool:
    """Whether an HTTP error status is worth retrying: 408, 425, 429 and every 5xx."""
    return status in RETRYABLE_4XX or status >= 500


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta seconds (``"120"``) or an HTTP date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``). None when absent or unreadable; never negative."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for_status(
    status: int,
    text: str | None = None,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
    provider: str = "provider",
) -> ChannelError:
    """The :class:`nexus.ChannelError` for an HTTP error answer.

    :param text: the provider's own description of the error, if it gave one.
    :param code: the provider's error code; defaults to the status.
    :param headers: the answer's headers, for ``Retry-After``.
    :param provider: how the provider is named in the message.

    A retryable status gives a :class:`nexus.RetryableError` reading ``"<provider> answered
    503: <text>"``, waiting for ``Retry-After``; any other a :class:`nexus.PermanentError`
    with the provider's text (agents read it on the failed reply).
    """
    code = code or str(status)
    if retryable_status(status):
        message = f"{provider} answered {status}" + (f": {text}" if text else "")
        return RetryableError(message, code=code, retry_after=retry_after((headers or {}).get("Retry-After")))
    return PermanentError(text or f"{provider} answered {status}", code=code)


def describe_exception(exc: BaseException) -> str:
    """An exception as a short readable reason (aiohttp's timeouts have no text)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


def network_error(exc: BaseException, where: str = "the provider") -> RetryableError:
    """A network failure or timeout while talking to ``where``, as a retryable error with
    code ``network``."""
    return RetryableError(f"could not reach {where}: {describe_exception(exc)}", code="network")


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A provider's answer, read in full."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


def describe_answer(answer: HttpAnswer) -> tuple[str | None, str | None]:
    """The usual places of a JSON API's error text and code: ``{"error": "..."}``,
    ``{"message": "..."}``, ``{"error": {"message": ..., "code": ...}}`` and ``{"code": ...}``."""
    body = answer.json()
    if not isinstance(body, Mapping):
        return None, None
    error = body.get("error")
    source = error if isinstance(error, Mapping) else body
    text = error if isinstance(error, str) else source.get("message") or source.get("detail")
    code = source.get("code")
    return (str(text) if text else None), (str(code) if code not in (None, "") else None)


Describe = Callable[[HttpAnswer], tuple[str | None, str | None]]


class HttpClient:
    """One HTTP session to a provider's API, for one channel instance.

    Open it in :meth:`nexus.Channel.start` and close it in :meth:`nexus.Channel.stop` (or use
    ``async with``). Paths are relative to ``base_url``; absolute URLs are used as they are.

    :param base_url: the API's root, such as ``https://api.example.com/v1``.
    :param bearer: a token sent as ``Authorization: Bearer <token>``.
    :param basic_auth: ``(user, password)`` sent as HTTP basic authentication.
    :param headers: more headers for every request.
    :param timeout: seconds one request may take, connection and body included.
    :param provider: the provider's name in error messages (``"provider answered 503"``).
    :param describe: where the provider puts an error's text and code: a function of an
        :class:`HttpAnswer` returning ``(text, code)``; the default reads the usual JSON shapes.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        bearer: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        provider: str = "provider",
        describe: Describe = describe_answer,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.timeout = timeout
        self._describe = describe
        self._headers = {"User-Agent": _user_agent(), **(headers or {})}
        if bearer:
            self._headers["Authorization"] = f"Bearer {bearer}"
        elif basic_auth:
            user, password = basic_auth
            credentials = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {credentials}"
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> HttpClient:
        """Create the session (once); returns the client."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        return self

    async def close(self) -> None:
        """Close the session; safe to call twice, or before :meth:`open`."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> HttpClient:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, for what :meth:`request` does not cover (streaming)."""
        if self._session is None:
            raise RuntimeError(f"the HTTP client for {self.provider} is not open: call open() in start()")
        return self._session

    def url(self, path: str) -> str:
        """The absolute URL of ``path``."""
        if path.startswith(("http://", "https://")) or not self.base_url:
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    async def request(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> HttpAnswer:
        """Make a request and read the whole answer, whatever its status. Takes aiohttp's
        arguments (``json=``, ``data=``, ``params=``, ``headers=``). Network errors and timeouts
        are raised as they are (:data:`NETWORK_ERRORS`)."""
        if timeout is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=timeout)
        async with self.session.request(method, self.url(path), **kwargs) as response:
            return HttpAnswer(response.status, response.headers, await response.read())

    def error(self, answer: HttpAnswer) -> ChannelError:
        """The channel error an unsuccessful answer stands for (see :func:`error_for_status`)."""
        text, code = self._describe(answer)
        return error_for_status(answer.status, text, code=code, headers=answer.headers, provider=self.provider)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Make a request for :meth:`nexus.Channel.send`: the JSON body of a 2xx answer (None
        when it has none); a :class:`nexus.RetryableError` or :class:`nexus.PermanentError`
        for an error status; a :class:`nexus.RetryableError` (code ``network``) when the
        provider could not be reached."""
        try:
            answer = await self.request(method, path, **kwargs)
        except NETWORK_ERRORS as exc:
            raise network_error(exc, self.provider) from exc
        if not answer.ok:
            raise self.error(answer)
        return answer.json()


def hmac_signature(
    secret: str | bytes,
    data: str | bytes,
    *,
    digest: str = "sha256",
    encoding: Literal["hex", "base64"] = "hex",
) -> str:
    """The HMAC of ``data`` under ``secret`` (text is UTF-8), hex- or base64-encoded: what
    most providers put in their signature header."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = data.encode() if isinstance(data, str) else data
    raw = hmac.new(key, message, digest).digest()
    return raw.hex() if encoding == "hex" else base64.b64encode(raw).decode("ascii")


def signatures_match(given: str | bytes | None, expected: str | bytes) -> bool:
    """Whether a received signature (or secret token) equals the expected one, compared in
    constant time so that timing reveals nothing. A missing or empty one never matches."""
    if not given:
        return False
    left = given.strip().encode() if isinstance(given, str) else given.strip()
    right = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(left, right)
