"""``nexus plugins new NAME``: a channel plugin package that passes its own tests at once.

The templates (``nexus/scaffold_templates/channel``) make a distribution with the ``nexus``
entry point, a channel class with its settings schema, a fake provider and a test module that
runs the conformance suite against them. ``{{key}}`` in a template, and ``__package__`` in a
path, are filled in from the plugin's name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from nexus import __version__

TEMPLATES = Path(__file__).resolve().parent / "scaffold_templates" / "channel"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
#: Files whose real name a package would not ship or a tool would pick up in the templates.
RENAMED = {"gitignore": ".gitignore"}


class ScaffoldError(Exception):
    """Why a plugin cannot be generated, worded for the command line."""


@dataclass(frozen=True)
class PluginNames:
    """Every name the package needs, derived from the channel type's name."""

    name: str

    @property
    def distribution(self) -> str:
        return "nexus-channel-" + self.name.replace("_", "-")

    @property
    def package(self) -> str:
        return f"nexus_channel_{self.name}"

    @property
    def class_prefix(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def title(self) -> str:
        return " ".join(part.capitalize() for part in self.name.split("_"))


def check_name(name: str) -> PluginNames:
    if not NAME.match(name):
        raise ScaffoldError(
            f"plugin name {name!r}: use lower-case letters, digits and _, starting with a letter "
            "(it becomes the channel type, as in type = \"sms\")"
        )
    return PluginNames(name)


def render(text: str, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return PLACEHOLDER.sub(fill, text)


def new_plugin(name: str, directory: Path | None = None, *, description: str | None = None) -> tuple[Path, list[Path]]:
    """Write the package for channel type ``name`` into ``directory`` (default:
    ``./nexus-channel-<name>``), which must not exist or be empty. Returns the directory and
    the files written."""
    names = check_name(name)
    target = Path(directory) if directory is not None else Path.cwd() / names.distribution
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} already exists and is not an empty directory")
    description = (description or f"{names.title} channel for Nexus").strip()
    values = {
        "name": name,
        "upper": name.upper(),
        "distribution": names.distribution,
        "package": names.package,
        "Class": names.class_prefix,
        "title": names.title,
        "title_json": json.dumps(names.title),
        "description": description,
        "description_json": json.dumps(description, ensure_ascii=False),
        "nexus_version": __version__,
    }
    written: list[Path] = []
    for template in sorted(path for path in TEMPLATES.rglob("*.tmpl") if path.is_file()):
        relative = template.relative_to(TEMPLATES).with_suffix("")
        relative = relative.with_name(RENAMED.get(relative.name, relative.name))
        path = target / str(relative).replace("__package__", names.package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(template.read_text(encoding="utf-8"), values), encoding="utf-8")
        written.append(path)
    return target, written
