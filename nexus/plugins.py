"""Plugin discovery and hook calls.

Everything installed is found through one entry-point group, ``nexus``: the built-in channels
load exactly like a third party's plugin. Finding reads the distributions' metadata and imports
nothing (:func:`find_plugins`), so commands that run no channel stay fast; loading imports the
plugins (:meth:`PluginRegistry.load`). Loading is isolated per entry point, so one broken
plugin is reported by name and the others load. Installing is not enabling: which plugins are
activated is decided by :mod:`nexus.instances` from the configuration.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal

import pluggy

from nexus import hookspecs
from nexus.channel import Channel, channel_type_problem
from nexus.config import ConfigError, ConfigErrors

ENTRY_POINT_GROUP = "nexus"
logger = logging.getLogger("nexus.plugins")

PluginState = Literal["enabled", "installed", "blocked", "failed"]


@dataclass
class PluginInfo:
    """One installed plugin, as ``nexus plugins list`` shows it."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    state: PluginState = "installed"
    error: str | None = None
    channel_types: list[str] = field(default_factory=list)
    object: Any = None
    entry_point: EntryPoint | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ChannelType:
    name: str
    cls: type[Channel]
    plugin: str


class PluginRegistry:
    """The plugin manager, with what the host learnt while loading."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("nexus")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.channel_types: dict[str, ChannelType] = {}

    @property
    def failed(self) -> dict[str, PluginInfo]:
        return {name: info for name, info in self.plugins.items() if info.state == "failed"}

    def load(self, blocked: Iterable[str] = (), extra: Mapping[str, Any] | None = None) -> None:
        """Import and register the plugins found, except the ``blocked`` ones, then the
        ``extra`` plugin objects (by name, as if installed), and collect their channel types."""
        blocked = set(blocked)
        for info in self.plugins.values():
            if info.name in blocked:
                info.state = "blocked"
                self.pm.set_blocked(info.name)
                continue
            assert info.entry_point is not None
            try:
                info.object = info.entry_point.load()
            except Exception as exc:  # noqa: BLE001 - any import error is the plugin's, not ours
                _fail(info, f"failed to import {info.module}: {_describe_error(exc)}")
                continue
            _register(self, info)
        for name, obj in (extra or {}).items():
            info = PluginInfo(name=name, module=getattr(obj, "__name__", repr(obj)), object=obj)
            self.plugins[name] = info
            if name in blocked:
                info.state = "blocked"
                continue
            _register(self, info)
        _collect_channel_types(self)

    def activate(self, names: Iterable[str]) -> None:
        """Keep only ``names`` registered for hook calls; the rest stay installed."""
        wanted = set(names)
        for name, info in self.plugins.items():
            if info.state in ("blocked", "failed"):
                continue
            if name in wanted:
                info.state = "enabled"
            else:
                info.state = "installed"
                if self.pm.has_plugin(name):
                    self.pm.unregister(name=name)


def _describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def find_plugins(group: str = ENTRY_POINT_GROUP) -> PluginRegistry:
    """The installed plugins of ``group``, from their distributions' metadata: none is imported
    (each is ``installed`` until :meth:`PluginRegistry.load`)."""
    registry = PluginRegistry()
    for ep in sorted(entry_points(group=group), key=lambda ep: ep.name):
        if ep.name not in registry.plugins:  # the same distribution may be visible twice on sys.path
            registry.plugins[ep.name] = _info_from_entry_point(ep)
    return registry


def discover_plugins(
    blocked: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
    group: str = ENTRY_POINT_GROUP,
) -> PluginRegistry:
    """Find and load every installed plugin of ``group``, except the ``blocked`` ones.

    :param extra: plugin objects by name, registered as if installed (for tests and embedding).
    """
    registry = find_plugins(group)
    registry.load(blocked, extra)
    return registry


def _info_from_entry_point(ep: EntryPoint) -> PluginInfo:
    dist = getattr(ep, "dist", None)
    return PluginInfo(
        name=ep.name,
        module=ep.value,
        distribution=dist.metadata["Name"] if dist is not None else None,
        version=dist.version if dist is not None else None,
        entry_point=ep,
    )


def _fail(info: PluginInfo, reason: str) -> None:
    info.state = "failed"
    info.error = reason
    logger.error("plugin %r: %s", info.name, reason)


def _register(registry: PluginRegistry, info: PluginInfo) -> None:
    try:
        registry.pm.register(info.object, name=info.name)
    except Exception as exc:  # noqa: BLE001 - e.g. a hookimpl that matches no spec's arguments
        _fail(info, f"cannot be registered: {_describe_error(exc)}")


def _collect_channel_types(registry: PluginRegistry) -> None:
    clashes: list[ConfigError] = []
    for impl in registry.pm.hook.nexus_register_channel_types.get_hookimpls():
        info = registry.plugins[impl.plugin_name]
        found: list[type[Channel]] = []

        def register(cls: type[Channel], _found: list[type[Channel]] = found) -> None:
            problem = channel_type_problem(cls)
            if problem:
                raise TypeError(problem)
            _found.append(cls)

        try:
            call_impl(impl, register=register)
        except Exception as exc:  # noqa: BLE001
            _fail(info, f"nexus_register_channel_types raised {_describe_error(exc)}")
            registry.pm.unregister(name=info.name)
            continue
        for cls in found:
            existing = registry.channel_types.get(cls.type_name)
            if existing and existing.plugin != info.name:
                clashes.append(
                    ConfigError(
                        "plugins",
                        f"channel type {cls.type_name!r} is registered by both plugin "
                        f"{existing.plugin!r} and plugin {info.name!r}; block one with plugins.blocked",
                    )
                )
                continue
            registry.channel_types[cls.type_name] = ChannelType(cls.type_name, cls, info.name)
            info.channel_types.append(cls.type_name)
    if clashes:
        raise ConfigErrors(clashes)


def call_impl(impl: pluggy.HookImpl, **kwargs: Any) -> Any:
    """Call one hook implementation with the arguments it asks for."""
    return impl.function(*[kwargs[name] for name in impl.argnames])


async def call_hook(
    registry: PluginRegistry,
    hook_name: str,
    *,
    on_error: Callable[[str, BaseException], None] | None = None,
    **kwargs: Any,
) -> list[tuple[str, Any]]:
    """Call every implementation of a hook, awaiting the async ones, in pluggy's order.

    An implementation that raises is logged with its plugin's name and skipped. Returns
    ``(plugin name, result)`` for the ones that succeeded.
    """
    hook = getattr(registry.pm.hook, hook_name)
    results: list[tuple[str, Any]] = []
    for impl in reversed(hook.get_hookimpls()):
        try:
            result = call_impl(impl, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            logger.exception("plugin %r raised in %s", impl.plugin_name, hook_name)
            if on_error:
                on_error(impl.plugin_name, exc)
            continue
        results.append((impl.plugin_name, result))
    return results
