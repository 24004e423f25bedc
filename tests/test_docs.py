"""Meta-tests that keep the project honest: every hook documented and tested, the generated
reference current, and every setting, command and endpoint documented where users look."""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from nexus import channel, endpoints, hookspecs, http, types
from nexus.app import create_app
from nexus.config import Settings
from nexus.docs import render

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
API_DOC = (ROOT / "docs" / "api.md").read_text()
EXAMPLE_CONFIG = (ROOT / "config" / "nexus.toml").read_text()


def test_every_hook_has_a_docstring_saying_whether_it_is_awaited():
    assert hookspecs.HOOK_NAMES, "no hooks found"
    for name in hookspecs.HOOK_NAMES:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 80, f"{name} needs a docstring"
        assert "awaited" in doc.lower(), f"{name}'s docstring must say whether it is awaited"


def test_no_hook_is_firstresult():
    for name in hookspecs.HOOK_NAMES:
        options = getattr(hookspecs, name).nexus_spec
        assert not options.get("firstresult"), f"{name} must not be firstresult: its implementations may be async"


def test_every_hook_has_a_test_named_after_it():
    tests = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        tests.update(node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))
    missing = [name for name in hookspecs.HOOK_NAMES if f"test_{name}" not in tests]
    assert not missing, f"hooks without a test named after them: {missing}"


def test_the_hook_reference_is_generated_from_the_docstrings():
    assert (ROOT / "docs" / "hooks.md").read_text() == render(), "regenerate: python -m nexus.docs > docs/hooks.md"
    for name in hookspecs.HOOK_NAMES:
        assert f"### `{name}`" in render()


@pytest.mark.parametrize("module", [channel, http, endpoints, hookspecs, types], ids=lambda m: m.__name__)
def test_the_reference_documents_everything_public_in_the_contract(module):
    reference = render()
    for name in set(module.__all__) - {"hookspec"}:
        assert f"### `{name}`" in reference, f"{module.__name__}.{name} is missing from docs/hooks.md"


def test_the_reference_documents_every_channel_attribute_and_request_field():
    reference = render()
    for name in typing.get_type_hints(channel.Channel):
        assert f"| `{name}` |" in reference, f"Channel.{name} is missing from docs/hooks.md"
    for cls in (channel.WebhookRequest, channel.WebhookResponse, types.Capabilities, types.AttachmentLimits):
        section = reference.split(f"### `{cls.__name__}`", 1)[1].split("\n### ", 1)[0]
        for field in cls.__dataclass_fields__:
            assert f"| `{field}` |" in section, f"{cls.__name__}.{field} is missing from docs/hooks.md"
    channel_section = reference.split("### `Channel`", 1)[1]
    description = channel_section.split("| `description` |", 1)[1].split("\n", 1)[0]
    assert "GET /api/v1/channels" in description


def test_the_reference_shows_types_as_written():
    reference = render()
    for broken in ("<enum", "<class", "<function", "typing.", "collections.abc.", " at 0x", "`start(self"):
        assert broken not in reference, f"docs/hooks.md shows {broken!r}"
    assert "| `status` | `DeliveryStatus` | `DeliveryStatus.SENT` |" in reference
    assert "| `metadata` | `Mapping[str, Any]` | `{}` |" in reference
    assert "#### `send(message: OutboundMessage) -> SendResult`" in reference
    assert "- `form(encoding: str = 'utf-8') -> Params`" in reference


def test_the_contract_imports_nothing_of_the_host():
    contract = {"nexus", "nexus.channel", "nexus.types", "nexus.http", "nexus.endpoints", "nexus.hookspecs"}
    code = ("import json, sys; import nexus, nexus.channel, nexus.types, nexus.http, nexus.endpoints, nexus.hookspecs; "
            "print(json.dumps(sorted(m for m in sys.modules if m == 'nexus' or m.startswith('nexus.'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    assert set(loaded) <= contract, f"the contract imports host modules: {sorted(set(loaded) - contract)}"


def setting_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if name == "channels":
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += setting_keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


@pytest.mark.parametrize("key", setting_keys(Settings))
def test_every_setting_is_documented(key):
    assert f"`{key}`" in README, f"{key} is missing from the README's settings table"
    section, _, name = key.rpartition(".")
    if section:
        block = EXAMPLE_CONFIG.split(f"[{section}]", 1)[1].split("\n[", 1)[0]
        assert re.search(rf"^#?\s*{name} =", block, re.M), f"{key} is missing from config/nexus.toml"
    else:
        assert re.search(rf"^{name} =", EXAMPLE_CONFIG, re.M), f"{key} is missing from config/nexus.toml"


def test_every_command_is_documented():
    from nexus.cli import main

    def commands(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from commands(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    for command in commands(main, "nexus "):
        assert f"`{command}" in README, f"{command} is missing from the README"


def test_every_endpoint_is_documented():
    app = create_app(Settings())
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/static") or rule.endpoint.startswith("openapi") or "swagger" in rule.endpoint:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + m.group(1) + "}", rule.rule)
        documented = re.sub(r"\{[a-z_]*id\}", "{id}", path)
        documented = documented.replace("{type_name}/{name}", "{type}/{channel}").replace("/{subpath}", "")
        assert f"`{documented}`" in API_DOC or f"`{documented}[/...]`" in API_DOC, f"{path} is missing from docs/api.md"


def test_the_env_example_uses_real_names():
    from nexus.config.loader import CLASSIC_ENV

    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    known = set(CLASSIC_ENV) | {"REDIS_HOST", "REDIS_PORT", "WHATSAPP_API_KEY", "TELEGRAM_BOT_TOKEN", "POSTGRES_PASSWORD"}
    for name in names:
        assert name in known or name.startswith("NEXUS_"), f".env.example names {name}, which Nexus does not read"


def test_the_quick_start_gives_exactly_two_commands():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    first_block = quick_start.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["python3 dev.py serve", "python3 dev.py test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "exec python3 dev.py test" in ci, ".ci/run must run the README's test command"
