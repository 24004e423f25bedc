"""Discovery, enabling and isolation: installed is not enabled, and a broken plugin is reported
by name without taking the host or the other channels down."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nexus import Channel, ChannelConfig, hookimpl
from nexus.config import ConfigErrors, LoadedSettings, Settings
from nexus.config.loader import RawConfig
from nexus.instances import prepare
from nexus.plugins import discover_plugins
from tests.conftest import chat_config, receive
from tests.helpers import run_cli

BUILT_INS = {"email", "telegram", "whatsapp"}


def install_fake_distribution(site: Path, name: str, module_source: str, *, entry_point: str | None = None) -> None:
    """Write a real installed distribution (a dist-info with an entry point) into ``site``."""
    module = name.replace("-", "_")
    (site / f"{module}.py").write_text(textwrap.dedent(module_source))
    dist = site / f"{module}-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text(f"[nexus]\n{entry_point or module} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A directory on sys.path where the test installs distributions."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    importlib.invalidate_caches()
    yield path
    for name in list(sys.modules):
        if name.startswith(("broken_", "boom_", "fine_", "clash_")):
            del sys.modules[name]


def test_every_plugin_loads_through_the_entry_point_group():
    registry = discover_plugins()
    assert BUILT_INS | {"example"} <= set(registry.plugins)
    for name in BUILT_INS | {"example"}:
        info = registry.plugins[name]
        assert info.distribution and info.version, name
        assert info.state == "installed", f"{name} is installed, not yet enabled"
    assert registry.plugins["example"].distribution == "nexus-channel-example"
    assert {"email", "telegram", "whatsapp", "example"} <= set(registry.channel_types)


def settings(**values) -> LoadedSettings:
    return LoadedSettings(Settings.model_validate(values), RawConfig())


def test_configuration_alone_enables_and_disables_plugins():
    setup = prepare(settings(plugins={"enabled": ["whatsapp"]}))
    states = {name: info.state for name, info in setup.registry.plugins.items()}
    assert states["whatsapp"] == "enabled"
    assert states["telegram"] == states["email"] == states["example"] == "installed"
    assert "whatsapp" in setup.registry.pm.list_name_plugin().__repr__()
    assert not setup.registry.pm.has_plugin("telegram")

    setup = prepare(settings(channels={"chat": {"type": "example", "api_url": "http://x", "token": "t", "secret": "s"}}))
    assert setup.registry.plugins["example"].state == "enabled"
    assert setup.registry.plugins["whatsapp"].state == "installed"


def test_a_plugin_can_be_blocked_by_name():
    setup = prepare(settings(plugins={"blocked": ["example"]},
                             channels={"chat": {"type": "example", "api_url": "http://x"}}))
    assert setup.registry.plugins["example"].state == "blocked"
    assert "example" not in setup.registry.channel_types
    assert setup.channels["chat"].problem == "plugin 'example' is blocked (plugins.blocked)"


def test_plugins_list_shows_state_version_and_distribution(tmp_path):
    result = run_cli(["plugins", "list", "--json"], cwd=tmp_path, env={"NEXUS_PLUGINS__ENABLED": "telegram"})
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["telegram"]["state"] == "enabled"
    assert rows["example"] == {"name": "example", "state": "installed", "version": "0.1.0",
                               "distribution": "nexus-channel-example", "channel_types": ["example"], "error": None}
    text = run_cli(["plugins", "list"], cwd=tmp_path).stdout
    assert "example   installed  nexus-channel-example 0.1.0  channel types: example" in text


BROKEN = "raise ImportError('this plugin needs libfoo')\n"

FAILING_START = '''
    from nexus import Channel, ChannelConfig, hookimpl

    class BoomChannel(Channel):
        type_name = "boom"
        Config = ChannelConfig

        async def start(self):
            raise RuntimeError("the provider rejected our credentials")

    @hookimpl
    def nexus_register_channel_types(register):
        register(BoomChannel)
'''


def test_a_plugin_that_fails_to_import_is_reported_by_name(site, tmp_path):
    install_fake_distribution(site, "broken-plugin", BROKEN)
    registry = discover_plugins()
    info = registry.plugins["broken_plugin"]
    assert info.state == "failed"
    assert info.error == "failed to import broken_plugin: ImportError: this plugin needs libfoo"
    assert {"example", "telegram"} <= set(registry.channel_types), "the other plugins load"

    result = run_cli(["plugins", "list"], cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert result.returncode == 0
    assert "broken_plugin  failed" in result.stdout
    assert "failed to import broken_plugin: ImportError: this plugin needs libfoo" in result.stdout


def test_a_duplicate_channel_type_stops_start_up_naming_both(site):
    install_fake_distribution(site, "clash-plugin", '''
        from nexus import Channel, ChannelConfig, hookimpl

        class Clash(Channel):
            type_name = "example"

        @hookimpl
        def nexus_register_channel_types(register):
            register(Clash)
    ''')
    with pytest.raises(ConfigErrors) as caught:
        discover_plugins()
    assert str(caught.value) == ("plugins: channel type 'example' is registered by both plugin 'clash_plugin' and "
                                 "plugin 'example'; block one with plugins.blocked")


def test_an_invalid_channel_class_fails_its_plugin_only():
    class NoName(Channel):
        Config = ChannelConfig

    class Plugin:
        @hookimpl
        def nexus_register_channel_types(self, register):
            register(NoName)

    registry = discover_plugins(extra={"bad": Plugin()})
    assert registry.plugins["bad"].state == "failed"
    assert "type_name must be a lower-case name" in registry.plugins["bad"].error
    assert "example" in registry.channel_types


def test_plugins_are_found_without_being_imported(site):
    """Finding reads the distributions' metadata; only loading imports (and so fails)."""
    from nexus.plugins import find_plugins

    install_fake_distribution(site, "broken-plugin", BROKEN, entry_point="broken")
    registry = find_plugins()
    info = registry.plugins["broken"]
    assert (info.state, info.distribution, info.version, info.module) == ("installed", "broken-plugin", "1.2.3", "broken_plugin")
    assert "broken_plugin" not in sys.modules
    assert set(registry.plugins) >= BUILT_INS and not registry.channel_types
    registry.load()
    assert registry.plugins["broken"].state == "failed"
    assert "example" in registry.channel_types


async def test_a_broken_plugin_does_not_take_the_host_down(site, nexus_server, chat_api):
    """A plugin that fails to import and one whose channel fails to start are reported by name
    in /readyz and the channels' status; the host and the healthy channel serve on."""
    install_fake_distribution(site, "broken-plugin", BROKEN, entry_point="broken")
    install_fake_distribution(site, "boom-plugin", FAILING_START)
    config = chat_config(chat_api)
    config["channels"]["lost"] = {"type": "broken"}
    config["channels"]["boom"] = {"type": "boom"}
    async with nexus_server(config) as server:
        ready = await server.request("GET", "/readyz")
        assert ready.status == 200
        assert ready.body["status"] == "degraded"
        assert ready.body["failed_plugins"] == {"broken": {"state": "failed", "error": "failed to import broken_plugin: ImportError: this plugin needs libfoo"}}
        channels = ready.body["channels"]
        assert channels["chat"]["state"] == "running"
        assert channels["boom"] == {"type": "boom", "plugin": "boom_plugin", "state": "failed",
                                    "error": "failed to start: RuntimeError: the provider rejected our credentials"}
        assert channels["lost"]["state"] == "failed"
        assert "plugin 'broken' failed to import broken_plugin" in channels["lost"]["error"]

        _, token = await server.agent()
        listed = {c["name"]: c for c in (await server.api("GET", "/channels", token)).body["items"]}
        assert listed["boom"]["error"] == "failed to start: RuntimeError: the provider rejected our credentials"
        assert listed["boom"]["last_error_at"] is not None

        await receive(server, "ok-1", "alice", "the healthy channel still works")
        assert [m.text for m in await server.messages("chat")] == ["the healthy channel still works"]
        response = await server.request("POST", "/webhooks/boom/boom", data=b"{}")
        assert (response.status, response.body["error"]["code"]) == (503, "channel_unavailable")


async def test_a_receiver_that_crashes_is_reported_and_restarted(nexus_server):
    runs = []

    class Flaky(Channel):
        type_name = "flaky"
        Config = ChannelConfig

        async def run(self):
            runs.append(1)
            if len(runs) == 1:
                raise ConnectionError("polling failed")
            await __import__("asyncio").Event().wait()

    class Plugin:
        @hookimpl
        def nexus_register_channel_types(self, register):
            register(Flaky)

    async with nexus_server({"channels": {"flaky": {"type": "flaky"}}}, plugins={"flaky": Plugin()}) as server:
        from nexus.testing import wait_for

        runtime = server.nexus.channels.get("flaky")
        await wait_for(lambda: len(runs) >= 2, timeout=15, message="the receiver to be restarted")
        assert runtime.error == "receiver failed: ConnectionError: polling failed; restarting in 1s"
        await wait_for(lambda: runtime.receiving, message="the receiver to run again")
        await wait_for(lambda: runtime.error is None, timeout=20, message="the recovered receiver to clear its error")
        assert len(runs) == 2
        assert (await server.request("GET", "/readyz")).body["status"] == "ok"


async def test_a_channel_whose_start_fails_is_tried_again_until_it_runs(nexus_server):
    """A start that fails (no network, say) is tried again with growing waits; the channels
    list says when; the stop() that follows each failed start runs before the next try; and
    the channel that starts at last is running with no error."""
    import asyncio

    from nexus.testing import wait_for

    network = asyncio.Event()
    starts: list[str] = []

    class Shaky(Channel):
        type_name = "shaky"
        Config = ChannelConfig

        async def start(self):
            starts.append("start")
            if not network.is_set():
                raise ConnectionError("no route to the provider")

        async def stop(self):
            starts.append("stop")

    class Plugin:
        @hookimpl
        def nexus_register_channel_types(self, register):
            register(Shaky)

    async with nexus_server({"channels": {"shaky": {"type": "shaky"}}}, plugins={"shaky": Plugin()}) as server:
        runtime = server.nexus.channels.get("shaky")
        _, token = await server.agent()
        await wait_for(lambda: runtime.failed_starts >= 2, timeout=15, message="a second try")
        (listed,) = (await server.api("GET", "/channels", token)).body["items"]
        assert (listed["state"], listed["error"]) == ("failed", "failed to start: ConnectionError: no route to the provider")
        assert listed["next_start_at"] == runtime.next_start_at.isoformat()
        assert runtime.next_start_at > datetime.now(UTC)
        assert (await server.request("GET", "/readyz")).body["status"] == "degraded"

        network.set()
        await wait_for(lambda: runtime.state == "running", timeout=15, message="the channel to start")
        (listed,) = (await server.api("GET", "/channels", token)).body["items"]
        assert (listed["state"], listed["error"], listed["next_start_at"]) == ("running", None, None)
        assert (await server.request("GET", "/readyz")).body["status"] == "ok"
        failures = starts.count("stop")
        assert failures >= 2 and starts == ["start", "stop"] * failures + ["start"]
    assert starts[-1] == "stop", "the running channel is stopped at shutdown"
