"""The effective settings, as ``nexus config check`` prints them: every key with its value
and where it came from, secrets masked."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

from nexus.config import mask_url, parse_duration
from nexus.instances import Setup

SECRET_MARK = "********"
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


class Duration(float):
    """Seconds, shown as the settings are written: ``7d``, ``15m``, ``90s``, ``0.5s``."""

    def __str__(self) -> str:
        for unit, seconds in _UNITS:
            if self and self % seconds == 0:
                return f"{int(self // seconds)}{unit}"
        return f"{float(self):g}s"


def _is_duration(model: type[BaseModel], name: str) -> bool:
    return any(getattr(meta, "func", None) is parse_duration for meta in model.model_fields[name].metadata)


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            child = getattr(value, name)
            if isinstance(child, float) and _is_duration(type(value), name):
                child = Duration(child)
            _flatten(f"{prefix}.{name}" if prefix else name, child, out)
    else:
        out[prefix] = value


def _show(key: str, value: Any) -> str:
    if isinstance(value, SecretStr):
        return SECRET_MARK if value.get_secret_value() else '""'
    if isinstance(value, str) and key.endswith(".url") and "://" in value:
        return repr(mask_url(value)).replace("'", '"')
    if value is None:
        return "(not set)"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def effective_settings(setup: Setup) -> list[str]:
    values: dict[str, Any] = {}
    settings = setup.settings
    for name in type(settings).model_fields:
        if name != "channels":
            _flatten(name, getattr(settings, name), values)
    values["database.url"] = settings.database_url
    values["storage.path"] = settings.storage_path
    for name, spec in sorted(setup.channels.items()):
        prefix = f"channels.{name}"
        values[f"{prefix}.type"] = spec.type_name
        values[f"{prefix}.enabled"] = spec.enabled
        if spec.team:
            values[f"{prefix}.team"] = spec.team
        if spec.config is not None:
            _flatten(prefix, spec.config, values)
    lines = []
    for key, value in values.items():
        source = setup.raw.source_of(key) if key in setup.raw.sources or key.startswith("channels.") else None
        note = f"  # {source}" if source else ""
        lines.append(f"{key} = {_show(key, value)}{note}")
    return lines
