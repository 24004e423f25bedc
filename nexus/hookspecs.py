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
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from nexus.channel import Channel
    from nexus.types import MessageView, TicketView

hookspec = pluggy.HookspecMarker("nexus")

__all__ = ["NexusAPI", "hookspec"]


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
