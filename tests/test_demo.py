"""Demo mode: plugins offer a channel that needs no account; the demo configures it, and
creates the admin, the team and the canned responses once."""

from __future__ import annotations

import pytest

from nexus.config import LoadedSettings
from nexus.config.loader import RawConfig
from nexus.db import close_database, models, open_database
from nexus.demo import ADMIN_EMAIL, CANNED, TEAM, Demo, announcement, seed
from nexus.testing.backends import truncate
from nexus.testing.server import build_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


def test_nexus_register_demo_channels(nexus_backends):
    """The installed web-chat plugin offers its channel; the host names no plugin itself."""
    demo = Demo()
    setup = demo.setup(LoadedSettings(build_settings(nexus_backends), RawConfig()))
    spec = setup.channels["demo"]
    assert (spec.type_name, spec.plugin, spec.team) == ("webchat", "webchat", TEAM)
    assert setup.registry.plugins["webchat"].state == "enabled"
    assert demo.plan is not None and demo.plan.pages == {"demo chat page": "/webchat/demo/demo"}


def test_an_operators_demo_channel_is_kept(nexus_backends):
    demo = Demo()
    config = {"channels": {"demo": {"type": "webchat", "title": "Ours"}}}
    setup = demo.setup(LoadedSettings(build_settings(nexus_backends, config), RawConfig()))
    assert setup.channels["demo"].config.title == "Ours" and setup.channels["demo"].team is None
    assert demo.plan is not None and demo.plan.pages == {"demo chat page": "/webchat/demo/demo"}


async def test_the_demo_seeds_once_and_prints_where_to_look(nexus_backends):
    await truncate(nexus_backends.database_url)
    demo = Demo()
    setup = demo.setup(LoadedSettings(build_settings(nexus_backends), RawConfig()))
    ctx = await open_database(nexus_backends.database_url)
    try:
        first = await seed(setup)
        again = await seed(setup)
        assert first.admin_password and again.admin_password is None
        admin = await models.Agent.get(email=ADMIN_EMAIL)
        assert admin.role == "admin" and await setup_accounts_check(setup, first.admin_password)
        team = await models.Team.get(name=TEAM)
        assert [a.id for a in await team.members.all()] == [admin.id]
        assert sorted(await models.CannedResponse.all().values_list("shortcut", flat=True)) == sorted(c[0] for c in CANNED)
    finally:
        await close_database(ctx)
    lines = announcement(demo.plan, first, "http://127.0.0.1:8000")
    assert "  agent console:  http://127.0.0.1:8000/" in lines
    assert "  demo chat page: http://127.0.0.1:8000/webchat/demo/demo" in lines
    assert any(first.admin_password in line for line in lines)


async def setup_accounts_check(setup, password):
    from nexus.accounts import Accounts

    return await Accounts(setup.settings.auth.token_ttl).authenticate(ADMIN_EMAIL, password) is not None
