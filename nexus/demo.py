"""Demo mode (``nexus serve --demo``): everything needed to see a conversation go both ways,
on embedded defaults, without writing any configuration.

The host does not know which channel can run without an outside account: it asks the
installed plugins (enabled or not) through ``nexus_register_demo_channels``, and configures
the first offer as the channel ``demo``. So a web chat, or any third party's channel that needs
no provider, can be the demo; the core names none of them. The demo then creates, if they are
missing, an admin (whose password it prints once), a team that the demo's tickets go to and a
few canned responses, and prints where to look.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError

from nexus.accounts import Accounts
from nexus.config import ConfigError, ConfigErrors, LoadedSettings
from nexus.db import models
from nexus.hookspecs import DemoChannel
from nexus.instances import Setup, prepare
from nexus.channels import describe_error
from nexus.plugins import call_impl, discover_plugins

logger = logging.getLogger("nexus.demo")

CHANNEL = "demo"
ADMIN_EMAIL = "admin@demo.example"
ADMIN_NAME = "Demo Admin"
TEAM = "Support"
CANNED = (
    ("hello", "Greeting", "Hi {{contact.first_name}}, thanks for writing! I'm {{agent.name}}; how can I help?"),
    ("order", "Ask for the order number", "Could you give me your order number, please? It starts with #."),
    ("bye", "Closing", "Glad I could help. Have a good day, and write again any time!"),
)


@dataclass
class DemoPlan:
    """What the demo configured: the channel, and the pages worth opening."""

    channel: str
    type_name: str
    plugin: str
    pages: Mapping[str, str] = field(default_factory=dict)
    description: str = ""


def offers(loaded: LoadedSettings) -> list[tuple[str, DemoChannel]]:
    """``(plugin, offer)`` from every installed, not blocked plugin, by plugin name."""
    registry = discover_plugins(blocked=loaded.settings.plugins.blocked)
    found: list[tuple[str, DemoChannel]] = []
    impls = registry.pm.hook.nexus_register_demo_channels.get_hookimpls()
    for impl in sorted(impls, key=lambda i: i.plugin_name):
        def register(offer: DemoChannel, _plugin: str = impl.plugin_name) -> None:
            if not isinstance(offer, DemoChannel):
                raise TypeError(f"{offer!r} is not a nexus.hookspecs.DemoChannel")
            found.append((_plugin, offer))

        try:
            call_impl(impl, register=register)
        except Exception as exc:  # noqa: BLE001 - a broken offer is skipped, the next may do
            logger.warning("plugin %r: nexus_register_demo_channels raised %s", impl.plugin_name, describe_error(exc))
    return found


class Demo:
    """Prepares the demo's setup; ``plan`` says what it configured."""

    plan: DemoPlan | None = None

    def setup(self, loaded: LoadedSettings) -> Setup:
        """The operator's settings plus the channel ``demo`` (unless they configured one by
        that name). Raises :class:`ConfigErrors` when no installed plugin offers one."""
        settings = loaded.settings
        available = offers(loaded)
        channels = {name: dict(table) for name, table in settings.channels.items()}
        if CHANNEL in channels:
            type_name = channels[CHANNEL].get("type")
            match = next(((p, o) for p, o in available if o.type_name == type_name), None)
        else:
            if not available:
                raise ConfigErrors([ConfigError("channels", "demo mode needs a plugin that offers a demo channel (such "
                                                            "as nexus-helpdesk-webchat); none is installed")])
            match = available[0]
            channels[CHANNEL] = {"type": match[1].type_name, "team": TEAM, **match[1].settings}
        setup = prepare(LoadedSettings(settings.model_copy(update={"channels": channels}), loaded.raw))
        spec = setup.channels[CHANNEL]
        offer = match[1] if match else DemoChannel(spec.type_name)
        pages = {title: path.replace("{channel}", CHANNEL) for title, path in offer.pages.items()}
        self.plan = DemoPlan(CHANNEL, spec.type_name, spec.plugin or "", pages, offer.description)
        return setup


@dataclass
class Seeded:
    admin_email: str
    admin_password: str | None
    """Only when this run created the admin: it is shown once."""


async def seed(setup: Setup) -> Seeded:
    """Create what is missing: the admin, the team (with the admin in it), the canned responses.
    The database must be open."""
    accounts = Accounts(setup.settings.auth.token_ttl)
    password = None
    admin = await models.Agent.get_or_none(email=ADMIN_EMAIL)
    if admin is None:
        password = secrets.token_urlsafe(12)
        admin = await accounts.create_agent(email=ADMIN_EMAIL, name=ADMIN_NAME, role="admin", password=password)
    team, _ = await models.Team.get_or_create(name=TEAM)
    if not await team.members.filter(id=admin.id).exists():
        await team.members.add(admin)
    for shortcut, title, body in CANNED:
        try:
            await models.CannedResponse.get_or_create(shortcut=shortcut, defaults={"title": title, "body": body})
        except IntegrityError:
            pass  # created by a concurrent start
    return Seeded(ADMIN_EMAIL, password)


def announcement(plan: DemoPlan, seeded: Seeded, base_url: str) -> list[str]:
    """The lines ``nexus serve --demo`` prints."""
    lines = ["", "Nexus demo", f"  agent console:  {base_url}/"]
    lines += [f"  {title + ':':<16}{base_url}{path}" for title, path in plan.pages.items()]
    if seeded.admin_password:
        lines.append(f"  log in as {seeded.admin_email} with the password {seeded.admin_password}")
    else:
        lines.append(f"  log in as {seeded.admin_email} with the password printed when it was created "
                     f"(or set one: nexus agents set-password {seeded.admin_email})")
    if plan.description:
        lines.append(f"  channel {plan.channel!r}: {plan.description}")
    return [*lines, ""]
