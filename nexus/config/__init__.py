"""Configuration: ``config/nexus.toml``, then ``.env``, then the environment."""

from nexus.config.loader import (
    ConfigError,
    ConfigErrors,
    LoadedSettings,
    RawConfig,
    errors_from_validation,
    load_settings,
)
from nexus.config.settings import Settings, mask_url, parse_duration

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "LoadedSettings",
    "RawConfig",
    "Settings",
    "errors_from_validation",
    "load_settings",
    "mask_url",
    "parse_duration",
]
