"""The URL a provider called and the address it called from, as a channel must verify them.

Behind a reverse proxy Nexus serves ``http://127.0.0.1:8000/webhooks/...`` while the provider
called, and signed, ``https://support.example.com/webhooks/...``. The public base comes from
``server.public_url`` when set, else from the request itself; a proxy listed in
``server.trusted_proxies`` may override scheme and host with ``X-Forwarded-Proto`` and
``X-Forwarded-Host``, and name the client with ``X-Forwarded-For``. Anyone else's forwarded
headers are ignored, so a caller cannot choose the URL a signature is checked against.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Origin:
    url: str
    remote_addr: str | None


@lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...] | None:
    """The trusted networks; None stands for ``*`` (any)."""
    if "*" in trusted:
        return None
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def is_trusted(address: str | None, trusted: Sequence[str]) -> bool:
    if not trusted or not address:
        return False
    networks = _networks(tuple(trusted))
    if networks is None:
        return True
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _first(value: str | None) -> str | None:
    """The first of a comma-separated forwarded value: what the outermost proxy saw."""
    first = (value or "").split(",", 1)[0].strip()
    return first or None


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str | None:
    """The right-most address of ``X-Forwarded-For`` that is not a trusted proxy: the one the
    trusted chain received the request from."""
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else remote_addr


def request_origin(
    *,
    public_url: str | None,
    scheme: str,
    host: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    remote_addr: str | None,
    trusted: Sequence[str],
) -> Origin:
    """The full URL as the provider called it, and its address.

    :param raw_path: the path as received, percent-encoded.
    :param headers: the request's headers, lower-case names.
    """
    prefix = ""
    if public_url:
        base = urlsplit(public_url)
        scheme, host, prefix = base.scheme, base.netloc, base.path.rstrip("/")
    if is_trusted(remote_addr, trusted):
        scheme = (_first(headers.get("x-forwarded-proto")) or scheme).lower()
        host = _first(headers.get("x-forwarded-host")) or host
        remote_addr = client_address(remote_addr, headers.get("x-forwarded-for"), trusted)
    url = f"{scheme}://{host}{prefix}{raw_path}" + (f"?{query_string}" if query_string else "")
    return Origin(url, remote_addr)
