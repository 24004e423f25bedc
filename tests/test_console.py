"""The agent console is served by Nexus itself, from the package, offline, without shadowing
any of the host's endpoints, and it calls nothing but the public REST API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nexus.app import create_app
from nexus.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")
CONSOLE = Path(__file__).resolve().parent.parent / "nexus" / "console"


async def test_the_console_is_served_at_the_root(chat_server):
    page = await chat_server.request("GET", "/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<script type="module" src="/console/app.js">' in page.body
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    for path in ("/console/app.js", "/console/api.js", "/console/dom.js", "/console/style.css", "/vendor/socket.io.esm.min.js"):
        response = await chat_server.request("GET", path)
        assert response.status == 200, path
    assert (await chat_server.request("GET", "/console/../pyproject.toml")).status == 404
    assert (await chat_server.request("GET", "/console/missing.js")).status == 404


async def test_the_console_shadows_none_of_the_hosts_endpoints(chat_server):
    assert (await chat_server.api("GET", "/me")).body["error"]["code"] == "unauthorized"
    assert (await chat_server.request("GET", "/healthz")).status == 200
    assert (await chat_server.request("GET", "/readyz")).status == 200
    assert "openapi" in (await chat_server.request("GET", "/openapi.json")).body
    assert (await chat_server.request("GET", "/metrics")).status == 200
    assert (await chat_server.request("GET", "/docs")).status == 200
    missing = await chat_server.request("GET", "/api/v1/no-such-thing")
    assert missing.status == 404 and missing.body["error"]["code"] == "not_found"
    assert (await chat_server.request("GET", "/webhooks/example/nope")).body["error"]["code"] == "unknown_channel"
    handshake = await chat_server.request("GET", "/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert handshake.status == 200 and '"sid"' in handshake.body


def test_the_console_loads_nothing_from_elsewhere():
    for path in CONSOLE.rglob("*"):
        if path.suffix in (".html", ".js", ".css") and path.parent.name != "vendor":
            text = path.read_text()
            assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), f"{path.name} loads from another origin"
            assert not re.search(r"(import|fetch)\(?\s*[\"'`]https?://", text), f"{path.name} calls another origin"
            assert "@import url(" not in text


def test_the_console_calls_only_the_public_rest_api():
    app = create_app(Settings())
    rules = [re.sub(r"<(?:\w+:)?\w+>", "[^/?]+", rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")]
    source = (CONSOLE / "app.js").read_text()
    calls = re.findall(r"api\.(?:get|post|patch|request)\((?:\"[A-Z]+\", )?[`\"](/[^`\"?]*)", source)
    assert len(calls) >= 12, calls
    for call in calls:
        path = "/api/v1" + re.sub(r"\$\{[^}]+\}", "1", call)
        assert any(re.fullmatch(rule, path) for rule in rules), f"the console calls {path}, which the API does not have"


def test_every_console_control_has_a_label():
    source = (CONSOLE / "app.js").read_text()
    ids = re.findall(r'h\("(?:input|select|textarea)", \{ id: "([\w-]+)"', source)
    assert len(ids) >= 10
    wrapped = {"composer-private"}  # inside its <label>
    for control in ids:
        assert f'for: "{control}"' in source or control in wrapped, f"#{control} has no <label for>"
