"""Inbound mail through a real IMAP server (Dovecot, started by the tests)."""

from __future__ import annotations

import pytest
from email_mails import gmail, outlook_html, simple, thunderbird
from email_servers import Dovecot

from nexus.testing.server import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def wait_for_messages(server, count: int, timeout: float = 20.0):
    async def enough():
        found = await server.messages("support")
        return found if len(found) >= count else None

    return await wait_for(enough, timeout=timeout, message=f"{count} stored message(s)")


async def test_imap_mail_becomes_tickets_and_is_marked_seen(email_server, dovecot: Dovecot) -> None:
    await dovecot.append(gmail())
    await dovecot.append(outlook_html())
    async with email_server(listener=False, imap=dovecot.settings()) as (server, _):
        messages = await wait_for_messages(server, 2)
        tickets = await server.tickets()
        assert sorted(t.subject for t in tickets) == ["My order has not arrived", "RE: Replacement part [#7]"]
        assert {m.sender["address"] for m in messages} == {"jane.doe@gmail.com", "bjoern.mueller@contoso.com"}
        gmail_message = next(m for m in messages if m.sender["address"] == "jane.doe@gmail.com")
        assert gmail_message.text.startswith("Hi,\n\nmy order #1042 has not arrived yet.")

        async def all_seen():
            flags = await dovecot.messages()
            return all("\\Seen" in f for f in flags.values()) and flags
        flags = await wait_for(all_seen, message="processed mail to be marked \\Seen")
        assert len(flags) == 2


async def test_unread_mail_is_imported_and_read_mail_is_left_alone(email_server, dovecot: Dovecot) -> None:
    await dovecot.append(simple(message_id="<old-read@customer.test>", sender="old@customer.test", text="Old, read"),
                         flags="\\Seen")
    await dovecot.append(simple(message_id="<new-unread@customer.test>", sender="new@customer.test", text="New"))
    async with email_server(listener=False, imap=dovecot.settings()) as (server, _):
        await wait_for_messages(server, 1)
        await dovecot.append(simple(message_id="<later@customer.test>", sender="later@customer.test", text="Later"))
        messages = await wait_for_messages(server, 2)
        assert [m.text for m in messages] == ["New", "Later"]


async def test_processed_mail_moves_to_a_folder(email_server, dovecot: Dovecot) -> None:
    await dovecot.append(gmail())
    imap = dovecot.settings(after_processing="move", move_to="Archive.Nexus")
    async with email_server(listener=False, imap=imap) as (server, _):
        await wait_for_messages(server, 1)

        async def moved():
            return not await dovecot.messages("INBOX") and await dovecot.messages("Archive.Nexus")
        moved_flags = await wait_for(moved, message="the message to move to Archive.Nexus")
        assert len(moved_flags) == 1


async def test_idle_delivers_new_mail_without_waiting_for_the_poll(email_server, dovecot: Dovecot) -> None:
    # The poll interval is far longer than any wait below: only IDLE can bring the mail in.
    async with email_server(listener=False, imap=dovecot.settings(poll_interval=900)) as (server, _):
        runtime = server.nexus.channels.get("support")
        receiver = runtime.instance.imap

        async def idling():
            return receiver.idling
        await wait_for(idling, timeout=20, message="the receiver to enter IDLE")
        await dovecot.append(thunderbird())
        (message,) = await wait_for_messages(server, 1)
        assert message.sender["address"] == "juergen.weiss@contoso.de"


async def test_polling_without_idle(email_server, dovecot: Dovecot) -> None:
    async with email_server(listener=False, imap=dovecot.settings(idle=False, poll_interval=1)) as (server, _):
        await dovecot.append(gmail())
        await wait_for_messages(server, 1)


async def test_uids_are_tracked_across_restarts(email_server, dovecot: Dovecot) -> None:
    """After a restart nothing is fetched twice (a message marked unread again stays
    unread, because its UID was handled) and nothing is skipped."""
    await dovecot.append(simple(message_id="<one@customer.test>", sender="one@customer.test", text="One"))
    await dovecot.append(simple(message_id="<two@customer.test>", sender="two@customer.test", text="Two"))
    async with email_server(listener=False, imap=dovecot.settings()) as (server, _):
        await wait_for_messages(server, 2)

        async def seen():
            flags = await dovecot.messages()
            return all("\\Seen" in f for f in flags.values())
        await wait_for(seen, message="both messages to be marked \\Seen")

    # While Nexus is down: a person marks message 1 unread, and new mail arrives.
    await dovecot.set_flags(1, "-", "\\Seen")
    await dovecot.append(simple(message_id="<three@customer.test>", sender="three@customer.test", text="Three"))

    async with email_server(listener=False, imap=dovecot.settings()) as (server, _):
        messages = await wait_for_messages(server, 3)
        assert [m.text for m in messages] == ["One", "Two", "Three"]

        async def three_seen():
            flags = await dovecot.messages()
            return "\\Seen" in flags.get(3, set()) and flags
        flags = await wait_for(three_seen, message="the new message to be marked \\Seen")
        assert "\\Seen" not in flags[1], "message 1 was fetched again after the restart"
        assert len(await server.messages("support")) == 3


async def test_a_renumbered_folder_is_checked_afresh(email_server, dovecot: Dovecot) -> None:
    """A new UIDVALIDITY (the folder was recreated) imports what is unread, once."""
    await dovecot.create("Support")
    await dovecot.append(simple(message_id="<before@customer.test>", sender="a@customer.test", text="Before"), folder="Support")
    imap = dovecot.settings(folder="Support")
    async with email_server(listener=False, imap=imap) as (server, _):
        await wait_for_messages(server, 1)
    client = await dovecot.client()
    try:
        assert (await client.delete("Support")).result == "OK"
        assert (await client.create("Support")).result == "OK"
    finally:
        await client.logout()
    await dovecot.append(simple(message_id="<after@customer.test>", sender="b@customer.test", text="After"), folder="Support")
    async with email_server(listener=False, imap=imap) as (server, _):
        messages = await wait_for_messages(server, 2)
        assert [m.text for m in messages] == ["Before", "After"]


async def test_starttls_login(email_server) -> None:
    dovecot = await Dovecot(tls=True).start()
    try:
        async with email_server(listener=False, imap=dovecot.settings()) as (server, _):
            runtime = server.nexus.channels.get("support")
            receiver = runtime.instance.imap

            async def idling():
                return receiver.idling
            await wait_for(idling, timeout=20, message="the receiver to log in over STARTTLS and IDLE")
            assert runtime.error is None
    finally:
        await dovecot.stop()


async def test_wrong_password_shows_on_the_channel(email_server, dovecot: Dovecot) -> None:
    async with email_server(listener=False, imap=dovecot.settings(password="wrong")) as (server, _):
        runtime = server.nexus.channels.get("support")

        async def reported():
            return runtime.error
        error = await wait_for(reported, timeout=20, message="the login failure to be reported")
        assert "LOGIN failed" in error
        assert await server.messages("support") == []
