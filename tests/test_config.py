"""Configuration: precedence, the classic names, and one-line errors for every mistake."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from nexus.config import ConfigErrors, load_settings
from nexus.instances import prepare
from tests.helpers import run_cli

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config" / "nexus.toml"


def write(tmp_path: Path, text: str, name: str = "nexus.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors_of(**kwargs) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        prepare(load_settings(**kwargs))
    return [str(e) for e in caught.value.errors]


def test_defaults_need_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = load_settings(environ={})
    assert loaded.settings.server.port == 8000
    assert loaded.settings.embedded_redis
    assert loaded.settings.database_url == f"sqlite://{tmp_path / 'data' / 'nexus.sqlite3'}"


def test_environment_overrides_dotenv_which_overrides_toml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path, "[server]\nport = 7000\nhost = '0.0.0.0'\n[tickets]\nreopen_window = '2d'\n")
    write(tmp_path, "NEXUS_SERVER__PORT=7100\nNEXUS_TICKETS__REOPEN_WINDOW=12h\n", ".env")
    loaded = load_settings(config, environ={"NEXUS_SERVER__PORT": "7200"})
    assert loaded.settings.server.port == 7200
    assert loaded.settings.server.host == "0.0.0.0"
    assert loaded.settings.tickets.reopen_window == 12 * 3600
    assert loaded.raw.source_of("server.port") == "environment variable NEXUS_SERVER__PORT"
    assert loaded.raw.source_of("tickets.reopen_window") == ".env: NEXUS_TICKETS__REOPEN_WINDOW"
    assert loaded.raw.source_of("server.host") == str(config)


def test_classic_env_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = load_settings(environ={
        "PORT": "9000", "DATABASE_URL": "postgres://u:pw@db:5432/nexus", "REDIS_HOST": "cache", "REDIS_PORT": "6380",
    })
    assert loaded.settings.server.port == 9000
    assert loaded.settings.database.url == "postgres://u:pw@db:5432/nexus"
    assert loaded.settings.redis.url == "redis://cache:6380/0"
    loaded = load_settings(environ={"REDIS_URL": "redis://r:6379/2", "REDIS_HOST": "ignored"})
    assert loaded.settings.redis.url == "redis://r:6379/2"


def test_nexus_names_beat_classic_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = load_settings(environ={"PORT": "9000", "NEXUS_SERVER__PORT": "9100"})
    assert loaded.settings.server.port == 9100


def test_lists_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = load_settings(environ={"NEXUS_PLUGINS__ENABLED": "example, telegram"})
    assert loaded.settings.plugins.enabled == ["example", "telegram"]


@pytest.mark.parametrize(
    ("toml", "environ", "expected"),
    [
        ("[server]\nprot = 1\n", {}, "server.prot: unknown setting; did you mean server.port? (from {config})"),
        ("[servr]\nport = 1\n", {}, "servr: unknown setting; did you mean server? (from {config})"),
        ("", {"NEXUS_SERVER__PROT": "1"}, "server.prot: unknown setting; did you mean server.port? (from environment variable NEXUS_SERVER__PROT)"),
        ("", {"NEXUS_SERVR__PORT": "1"}, "servr: unknown setting; did you mean server? (from environment variable NEXUS_SERVR__PORT)"),
        ("", {"NEXUS_DELIVERY__MAX_ATTEMPT": "3"}, "delivery.max_attempt: unknown setting; did you mean delivery.max_attempts? (from environment variable NEXUS_DELIVERY__MAX_ATTEMPT)"),
        ("[server]\nport = 'eighty'\n", {}, "server.port: input should be a valid integer, unable to parse string as an integer, got 'eighty' (from {config})"),
        ("", {"DATABASE_URL": "mysql://db/x"}, "database.url: malformed URL 'mysql://db/x': the scheme must be sqlite or postgres, not 'mysql' (from environment variable DATABASE_URL)"),
        ("", {"DATABASE_URL": "postgres://user:secret@/nexus"}, "database.url: malformed URL 'postgres://user:***@/nexus': expected postgres://user:password@host:5432/database (from environment variable DATABASE_URL)"),
        ("", {"REDIS_URL": "localhost:6379"}, "redis.url: malformed URL 'localhost:6379': the scheme must be redis, rediss or unix, not 'localhost' (from environment variable REDIS_URL)"),
        ("[server]\npublic_url = 'example.com'\n", {}, "server.public_url: malformed URL 'example.com': expected https://host[:port][/path] (from {config})"),
        ("[tickets]\nreopen_window = 'a week'\n", {}, "tickets.reopen_window: must be a duration such as 30, '15m', '12h' or '7d', not 'a week' (from {config})"),
        ("[plugins]\nenabled = ['telegrm']\n", {}, "plugins.enabled: unknown plugin 'telegrm' (installed: email, example, telegram, webchat, whatsapp) (from {config})"),
        ("[channels.chat]\ntype = 'nope'\n", {}, "channels.chat.type: unknown channel type 'nope': no installed plugin provides it (available: {types}); "
         "install its plugin's package, or reinstall it if it was removed (`nexus plugins list`) (from {config})"),
        ("[channels.chat]\napi_url = 'http://x'\n", {}, "channels.chat.type: is required (the channel type, such as 'telegram') (from {config})"),
        ("[channels.chat]\ntype = 'example'\napi_url = 'http://x'\nsecret = 's'\n", {}, "channels.chat.token: required secret is missing: set NEXUS_CHANNELS__CHAT__TOKEN"),
        ("[channels.chat]\ntype = 'example'\napi_url = 'http://x'\ntoken = 't'\nsecret = 's'\ncolour = 'red'\n", {}, "channels.chat.colour: unknown setting (from {config})"),
        ("[channels.Chat-1]\ntype = 'example'\n", {}, "channels.Chat-1: a channel name uses a-z, 0-9 and _ and starts with a letter (from {config})"),
        ("[channels.chat]\ntype = 'example'\nrate_per_second = 'fast'\n", {}, "channels.chat.rate_per_second: must be a number of sends per second (0 for no limit), got 'fast' (from {config})"),
    ],
)
def test_bad_configuration_is_one_clear_line(tmp_path, monkeypatch, toml, environ, expected):
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path, toml)
    from nexus.plugins import discover_plugins

    types = ", ".join(sorted(discover_plugins().channel_types))
    assert errors_of(config_path=config, environ=environ) == [expected.format(config=config, types=types)]


def test_nexus_names_without_a_section_are_not_settings(tmp_path, monkeypatch, caplog):
    """Kubernetes injects NEXUS_PORT=tcp://..., NEXUS_SERVICE_HOST and NEXUS_SERVICE_PORT into
    every pod of a namespace with a Service named "nexus": start-up ignores them (logged
    once, at debug), while the documented single names keep working."""
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path, "[server]\nport = 7000\n", "custom.toml")
    write(tmp_path, "NEXUS_TICKETS__REOPEN_WINDOW=2d\n", "custom.env")
    kubernetes = {
        "NEXUS_PORT": "tcp://10.96.12.34:8000", "NEXUS_PORT_8000_TCP": "tcp://10.96.12.34:8000",
        "NEXUS_PORT_8000_TCP_PROTO": "tcp", "NEXUS_PORT_8000_TCP_PORT": "8000", "NEXUS_PORT_8000_TCP_ADDR": "10.96.12.34",
        "NEXUS_SERVICE_HOST": "10.96.12.34", "NEXUS_SERVICE_PORT": "8000", "NEXUS_SERVICE_PORT_HTTP": "8000",
    }
    # (One name of this test alone, to see it logged exactly once in this process.)
    own = f"NEXUS_ORDERS_{abs(hash(tmp_path)) % 10**8}_SERVICE_HOST"
    kubernetes[own] = "10.96.0.1"
    environ = {**kubernetes, "NEXUS_CONFIG": str(config), "NEXUS_ENV_FILE": str(tmp_path / "custom.env"),
               "NEXUS_DATA_DIR": str(tmp_path / "state")}
    with caplog.at_level(logging.DEBUG, logger="nexus.config"):
        loaded = load_settings(environ=environ)
        prepare(loaded)
        load_settings(environ=environ)
    assert loaded.settings.server.port == 7000  # from NEXUS_CONFIG, not from NEXUS_PORT
    assert loaded.settings.tickets.reopen_window == 2 * 86400  # from NEXUS_ENV_FILE
    assert loaded.settings.data_dir == tmp_path / "state"  # a setting outside any section
    assert sorted(loaded.raw.ignored_env) == sorted(kubernetes)
    logged = [r.getMessage() for r in caplog.records if r.name == "nexus.config" and r.levelno == logging.DEBUG]

    def line(name: str) -> str:
        return f"ignoring environment variable {name}: not a setting (settings are NEXUS_<SECTION>__<KEY>)"

    assert logged.count(line(own)) == 1
    assert all(logged.count(line(name)) <= 1 for name in kubernetes)


def test_serve_starts_beside_kubernetes_service_variables(tmp_path):
    env = {"NEXUS_PORT": "tcp://10.96.12.34:8000", "NEXUS_SERVICE_HOST": "10.96.12.34", "NEXUS_SERVICE_PORT": "8000"}
    result = run_cli(["config", "check"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "server.port" in result.stdout and "8000" in result.stdout


def test_invalid_toml_names_the_file_and_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path, "[server]\nport = \n")
    (line,) = errors_of(config_path=config, environ={})
    assert line.startswith("config: invalid TOML: ") and "line 2" in line and str(config) in line


def test_secrets_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path, "[channels.chat]\ntype = 'example'\napi_url = 'http://x'\n")
    setup = prepare(load_settings(config, environ={
        "NEXUS_CHANNELS__CHAT__TOKEN": "t0ken", "NEXUS_CHANNELS__CHAT__SECRET": "s3cret",
    }))
    spec = setup.channels["chat"]
    assert spec.config.token.get_secret_value() == "t0ken"
    assert spec.plugin == "example"
    assert setup.registry.plugins["example"].state == "enabled"
    assert setup.registry.plugins["whatsapp"].state == "installed"


def test_the_shipped_example_config_is_valid(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    setup = prepare(load_settings(EXAMPLE_CONFIG, environ={}))
    assert setup.settings.server.port == 8000


def test_config_check_prints_verdict_and_masked_settings(tmp_path):
    config = write(tmp_path, "[channels.chat]\ntype = 'example'\napi_url = 'http://x'\nsecret = 'hunter2'\n")
    result = run_cli(["--config", str(config), "config", "check"], cwd=tmp_path, env={
        "NEXUS_CHANNELS__CHAT__TOKEN": "t0ken-value", "DATABASE_URL": "postgres://nexus:pa55word@db:5432/nexus",
    })
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"configuration OK ({config})")
    assert 'database.url = "postgres://nexus:***@db:5432/nexus"  # environment variable DATABASE_URL' in result.stdout
    assert "channels.chat.token = ********  # environment variable NEXUS_CHANNELS__CHAT__TOKEN" in result.stdout
    assert "channels.chat.secret = ********" in result.stdout
    for secret in ("t0ken-value", "pa55word", "hunter2"):
        assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [["config", "check"], ["serve"], ["worker"], ["migrate"], ["agents", "list"]])
def test_commands_stop_on_bad_config_with_one_line(tmp_path, command):
    config = write(tmp_path, "[server]\nport = 0\n")
    result = run_cli(["--config", str(config), *command], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"nexus: config error: server.port: input should be greater than or equal to 1, got 0 (from {config})\n"
    assert "Traceback" not in result.stdout


def test_missing_config_file_is_one_line(tmp_path):
    result = run_cli(["--config", str(tmp_path / "missing.toml"), "config", "check"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"nexus: config error: config: file not found: {tmp_path / 'missing.toml'} (from --config)\n"


def test_several_workers_need_redis(tmp_path):
    result = run_cli(["serve", "--workers", "2"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "nexus: config error: server.workers: several processes need a shared Redis; set REDIS_URL\n"


def test_telegram_token_alone_makes_a_polling_bot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    setup = prepare(load_settings(environ={"TELEGRAM_BOT_TOKEN": "123456:ABC-token"}))
    assert list(setup.channels) == ["telegram"]
    assert setup.channels["telegram"].type_name == "telegram"
    assert setup.registry.plugins["telegram"].state == "enabled"
