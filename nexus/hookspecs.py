"""The Nexus plugin hooks: the reference for plugin authors.

Implement a hook with a module-level function of the same name, decorated with
``nexus.hookimpl``, and point the ``nexus`` entry-point group at the module::

    [project.entry-points.nexus]
    my_plugin = "my_package.plugin"

An implementation may accept fewer arguments than the spec names, so hooks can gain
arguments without breaking plugins.

**Sync and async.** pluggy itself is synchronous. The host calls every implementation of a
hook one at a time; when an implementation returns an awaitable, the host awaits it. Each
hook says below whether it may be async. No hook is ``firstresult``, since a coroutine is
never None and the first async implementation would always win.

**Isolation.** An implementation that raises is logged with its plugin's name and skipped;
the host and the other plugins carry on.

Channel behaviour itself (receiving, webhooks, sending) lives on the :class:`nexus.Channel`
subclasses a plugin registers with :func:`nexus_register_channel_types`. See
``docs/plugins.md`` for the guide and ``docs/hooks.md`` for this reference, generated from
these docstrings by ``python -m nexus.docs``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from nexus.channel import Channel
    from nexus.endpoints import Namespace, Route, StaticFiles
    from nexus.types import AttachmentView, MessageView, TicketView

hookspec = pluggy.HookspecMarker("nexus")

__all__ = ["DemoChannel", "NexusAPI", "hookspec"]


class NexusAPI(Protocol):
    """What extension plugins may do to tickets, passed to the lifecycle and event hooks as
    ``nexus``. Every call goes through the same code as the REST API: events are published,
    replies are queued for delivery, and nothing bypasses the pipeline."""

    async def reply(
        self, ticket_id: int, text: str, *, metadata: Mapping[str, Any] | None = None
    ) -> MessageView:
        """Queue a reply to the ticket's contact, sent as an automatic message."""
        ...

    async def add_note(self, ticket_id: int, text: str) -> MessageView:
        """Add a private note, which is never sent to the contact."""
        ...

    async def update_ticket(self, ticket_id: int, **changes: Any) -> TicketView:
        """Change ``status``, ``priority``, ``assignee_id``, ``team_id``, ``labels`` or
        ``snoozed_until``, with the same validation as ``PATCH /api/v1/tickets/{id}``."""
        ...

    async def get_ticket(self, ticket_id: int) -> TicketView:
        """The ticket as the REST API shows it."""
        ...

    async def conversation(
        self, channel: str, address: str, *, limit: int = 50, before_id: int | None = None
    ) -> Sequence[MessageView]:
        """What one contact identity exchanged on one channel instance, across all its tickets,
        oldest first: the contact's messages and the replies, never private notes. ``address``
        is the identity's canonical key. ``before_id`` pages back in time. For channels that
        show the conversation to the contact themselves (a web chat)."""
        ...

    async def read_attachment(self, attachment_id: int) -> tuple[AttachmentView, bytes] | None:
        """An attachment and its bytes, or None when it does not exist or was not stored.
        Deciding who may download it is the caller's job."""
        ...

    async def emit(self, namespace: str, event: str, data: Any, *, room: str) -> None:
        """Push an event to the sockets in ``room`` of a namespace a plugin registered through
        :func:`nexus_register_web`, from any process (API or worker): Redis carries it to the
        process holding each socket. Pushes are at most once, like the agents' events.
        Emitting to the agents' namespace ``/`` is refused (``ValueError``)."""
        ...


# --- Registration ------------------------------------------------------------------------


@hookspec
def nexus_register_channel_types(register: Callable[[type[Channel]], None]) -> None:
    """Register the channel types this plugin provides.

    Call ``register(cls)`` once per :class:`nexus.Channel` subclass. The host validates each
    class (a ``type_name``, a pydantic ``Config``) and refuses to start when two plugins
    register the same ``type_name``, naming both.

    :param register: the callback that registers one channel class.

    Called once at start-up, synchronously; not awaited.
    """


@hookspec
def nexus_register_web(register: Callable[[Route | StaticFiles | Namespace], None]) -> None:
    """Register HTTP routes, static files and Socket.IO namespaces (see
    :mod:`nexus.endpoints`), served by every API process on the same port as the REST API.

    Call ``register(item)`` once per :class:`~nexus.endpoints.Route`,
    :class:`~nexus.endpoints.StaticFiles` or :class:`~nexus.endpoints.Namespace`. The first
    path segment of a route or static folder is the plugin's prefix (``/chat``): the host
    refuses prefixes it serves itself (``/api``, ``/webhooks``, ``/socket.io``, ...) and a
    prefix or namespace that another plugin claimed. A refused registration raises at once in
    ``register``; if it escapes the hook, none of the plugin's registrations are served and the
    plugin is reported by name in ``/readyz`` (``plugin_errors``), while the rest of Nexus runs.

    :param register: the callback that registers one item.

    Called once per API process when the app is built, synchronously; not awaited.
    """


@dataclass(frozen=True)
class DemoChannel:
    """A channel instance a plugin can run with no provider account, for ``nexus serve
    --demo``.

    :param type_name: the channel type (registered by the same plugin).
    :param settings: the instance's settings (without ``type``), valid for its schema.
    :param pages: pages worth opening in the demo, by title: paths on the Nexus server, in
        which ``{channel}`` stands for the instance's name (``/chat/{channel}/demo``).
    :param description: one line shown when the demo starts.
    """

    type_name: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    pages: Mapping[str, str] = field(default_factory=dict)
    description: str = ""


@hookspec
def nexus_register_demo_channels(register: Callable[[DemoChannel], None]) -> None:
    """Offer channels that work with no outside account (a web chat), for the demo mode.

    ``nexus serve --demo`` asks every *installed* plugin, enabled or not, and configures the
    first offer as the channel ``demo`` unless the operator configured one by that name. Call
    ``register(DemoChannel(...))`` for each offer.

    Called at start-up of the demo only, synchronously; not awaited.
    """


# --- Lifecycle ---------------------------------------------------------------------------


@hookspec
def nexus_startup(nexus: NexusAPI) -> Awaitable[None] | None:
    """The host has started: the database is open and channels are starting. Open what the
    plugin needs (clients, background tasks).

    :param nexus: what the plugin may do to tickets.

    Called once per process; awaited if it returns an awaitable.
    """


@hookspec
def nexus_shutdown(nexus: NexusAPI) -> Awaitable[None] | None:
    """The host is stopping. Close what :func:`nexus_startup` opened.

    Called once per process; awaited if it returns an awaitable.
    """


# --- Events ------------------------------------------------------------------------------
# Called after the change is committed, in the process that made the change. The host runs
# them in the background, so a slow plugin never delays a webhook's acknowledgement or an API
# response. They are at most once: an event whose process dies before the hook runs is not
# replayed.


@hookspec
def nexus_ticket_created(nexus: NexusAPI, ticket: TicketView) -> Awaitable[None] | None:
    """A ticket was opened, by a contact's first message or one after the reopen window.

    :param ticket: the new ticket.

    Awaited if it returns an awaitable.
    """


@hookspec
def nexus_ticket_updated(
    nexus: NexusAPI, ticket: TicketView, changes: Mapping[str, Any]
) -> Awaitable[None] | None:
    """A ticket's fields changed (status, priority, assignee, team, labels, snooze).

    :param ticket: the ticket after the change.
    :param changes: each changed field's *previous* value, by field name.

    Awaited if it returns an awaitable.
    """


@hookspec
def nexus_message_received(
    nexus: NexusAPI, message: MessageView, ticket: TicketView
) -> Awaitable[None] | None:
    """A contact's message was stored (duplicates and edits do not count).

    :param message: the stored message. ``message.auto_submitted`` is true for automatic
        mail: never auto-answer those.
    :param ticket: the ticket it landed in.

    Awaited if it returns an awaitable.
    """


@hookspec
def nexus_message_sent(nexus: NexusAPI, message: MessageView) -> Awaitable[None] | None:
    """An outbound message was accepted by its provider (status ``sent``).

    Called in the delivery worker's process. Awaited if it returns an awaitable.
    """


@hookspec
def nexus_message_failed(nexus: NexusAPI, message: MessageView) -> Awaitable[None] | None:
    """An outbound message failed for good; ``message.error_code`` and ``message.error_text``
    say why.

    Called in the process that saw the failure. Awaited if it returns an awaitable.
    """


#: Every hook of the contract, in the order of this file.
HOOK_NAMES: Sequence[str] = tuple(
    name for name in list(globals()) if name.startswith("nexus_")
)
