"""End to end in real browsers: Debian's headless Chromium, driven by Selenium through Debian's
chromedriver (nothing downloads a browser). A visitor writes in the web-chat widget on the demo
page; an agent sees the ticket appear live in the console, replies; the visitor sees the reply;
the agent resolves the ticket.

Screenshots of both land in a temporary folder; with ``NEXUS_UPDATE_SCREENSHOTS=1`` they also
replace ``docs/images/console.png`` and ``docs/images/widget.png``, which the README shows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus.db import models
from nexus.demo import ADMIN_EMAIL, TEAM, seed
from nexus.testing import wait_for
from tests.conftest import receive

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DOCS_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
WAIT = 20


def browser(profile: Path) -> Any:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("the browser test needs selenium (python3 dev.py sync installs it)")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"the browser test needs {path}: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1366,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


@pytest.fixture
def browsers() -> Iterator[Callable[[], Any]]:
    """A factory of Chromium sessions, each with a fresh profile, closed after the test."""
    opened: list[Any] = []
    profiles: list[str] = []

    def start() -> Any:
        profiles.append(tempfile.mkdtemp(prefix="nexus-chromium-"))
        opened.append(browser(Path(profiles[-1])))
        return opened[-1]

    yield start
    for driver in opened:
        driver.quit()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)


def until(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    """Wait for ``condition``; live updates re-render the page, so an element that went stale
    meanwhile is looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(condition)
    except TimeoutException:
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
        raise AssertionError(f"timed out waiting for {what}; browser console: {logs}") from None


def widget(driver: Any) -> Any:
    """The widget's shadow root on the page."""
    from selenium.webdriver.common.by import By

    host = until(driver, lambda d: d.find_elements(By.ID, "nexus-webchat"), "the widget to load")[0]
    return host.shadow_root


def css(root: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return root.find_elements(By.CSS_SELECTOR, selector)


async def test_a_conversation_goes_both_ways_in_real_browsers(nexus_server, browsers):
    config = {"channels": {"demo": {"type": "webchat", "team": TEAM, "title": "Example Outfitters",
                                    "greeting": "Hi! Ask us anything about your order."}}}
    async with nexus_server(config) as server:
        seeded = await seed(server.nexus.setup)
        visitor_browser, agent_browser = await asyncio.gather(asyncio.to_thread(browsers), asyncio.to_thread(browsers))
        shots = Path(tempfile.mkdtemp(prefix="nexus-shots-"))

        # The agent logs in first, so the ticket's arrival is seen live, not on load.
        def agent_logs_in() -> None:
            from selenium.webdriver.common.by import By

            agent_browser.get(server.url + "/")
            until(agent_browser, lambda d: d.find_elements(By.ID, "login-email"), "the login form")
            agent_browser.find_element(By.ID, "login-email").send_keys(ADMIN_EMAIL)
            agent_browser.find_element(By.ID, "login-password").send_keys(seeded.admin_password)
            agent_browser.find_element(By.ID, "login-submit").click()
            until(agent_browser, lambda d: d.find_element(By.ID, "live-state").text == "Live", "the console to go live")
            until(agent_browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#ticket-list li.empty"), "the empty ticket list")

        await asyncio.to_thread(agent_logs_in)

        def visitor_writes() -> None:
            visitor_browser.get(server.url + "/webchat/demo/demo")
            root = widget(visitor_browser)
            until(visitor_browser, lambda d: css(root, ".greeting"), "the greeting")
            css(root, "button.bubble")[0].click()
            textarea = css(root, "textarea")[0]
            textarea.send_keys("Hello! My order #1042 has not arrived yet.")
            css(root, "button.send")[0].click()
            until(visitor_browser, lambda d: [li for li in css(root, "li.visitor") if "You" in li.text], "the message to be stored")

        await asyncio.to_thread(visitor_writes)
        (ticket,) = await wait_for(lambda: server.tickets(), message="the ticket")
        assert ticket.channel == "demo" and ticket.team_id is not None

        def agent_replies() -> None:
            from selenium.webdriver.common.by import By

            def open_it(d: Any) -> bool:
                items = d.find_elements(By.CSS_SELECTOR, f'#ticket-list li[data-ticket-id="{ticket.id}"] button')
                if not items or "My order #1042" not in items[0].text:
                    return False
                items[0].click()
                return True

            until(agent_browser, open_it, "the ticket to appear live in the list, and open it")
            until(agent_browser, lambda d: [m for m in d.find_elements(By.CSS_SELECTOR, "#messages li.inbound") if "#1042" in m.text],
                  "the conversation")
            # A canned response by shortcut: "/hel", Tab, and the placeholders are filled.
            composer = agent_browser.find_element(By.ID, "composer-text")
            composer.send_keys("/hel")
            until(agent_browser, lambda d: d.find_element(By.ID, "canned-list").is_displayed(), "the canned suggestions")
            from selenium.webdriver.common.keys import Keys

            composer.send_keys(Keys.TAB)
            until(agent_browser, lambda d: "Demo Admin" in d.find_element(By.ID, "composer-text").get_attribute("value"),
                  "the canned response to be filled in")
            composer.send_keys(" It left our warehouse today; you will have it tomorrow.")
            agent_browser.find_element(By.ID, "composer-send").click()
            until(agent_browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#messages li.outbound"), "the reply in the conversation")

        await asyncio.to_thread(agent_replies)

        def visitor_sees_the_reply() -> str:
            root = widget(visitor_browser)
            reply = until(visitor_browser, lambda d: [li for li in css(root, "li.agent:not(.greeting)") if "tomorrow" in li.text],
                          "the reply in the widget")[0]
            visitor_browser.save_screenshot(str(shots / "widget.png"))
            return reply.text

        assert "you will have it tomorrow" in await asyncio.to_thread(visitor_sees_the_reply)
        (reply,) = await server.messages("demo", direction="outbound")
        await server.wait_for_status(reply.id, "read")

        def agent_sees_read_and_resolves() -> None:
            from selenium.webdriver.common.by import By

            until(agent_browser, lambda d: [s for s in d.find_elements(By.CSS_SELECTOR, "#messages li.outbound .delivery")
                                            if s.text == "Delivery: read"], "the reply's status to show read")
            agent_browser.save_screenshot(str(shots / "console.png"))
            agent_browser.find_element(By.ID, "action-resolve").click()
            until(agent_browser, lambda d: d.find_element(By.ID, "ticket-status").text == "resolved", "the ticket to be resolved")

        await asyncio.to_thread(agent_sees_read_and_resolves)
        assert (await models.Ticket.get(id=ticket.id)).status == "resolved"
        if os.environ.get("NEXUS_UPDATE_SCREENSHOTS") == "1":
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            for name in ("console.png", "widget.png"):
                shutil.copyfile(shots / name, DOCS_IMAGES / name)


async def test_the_console_shows_a_dropped_socket_and_returns_to_login_when_the_session_ends(nexus_server, browsers):
    async with nexus_server() as server:
        agent, _ = await server.agent("agent@example.com", role="agent", password="correct horse battery")
        driver = await asyncio.to_thread(browsers)

        def log_in() -> None:
            from selenium.webdriver.common.by import By

            driver.get(server.url + "/")
            until(driver, lambda d: d.find_elements(By.ID, "login-email"), "the login form")
            driver.find_element(By.ID, "login-email").send_keys("agent@example.com")
            driver.find_element(By.ID, "login-password").send_keys("wrong")
            driver.find_element(By.ID, "login-submit").click()
            until(driver, lambda d: d.find_element(By.ID, "login-error").text, "the login error")
            driver.find_element(By.ID, "login-password").send_keys("correct horse battery")
            driver.find_element(By.ID, "login-submit").click()
            until(driver, lambda d: d.find_elements(By.ID, "live-state") and d.find_element(By.ID, "live-state").text == "Live",
                  "the console to go live")

        await asyncio.to_thread(log_in)
        # An admin deactivates the agent: the server drops the socket and the token stops working.
        status, _ = await server.api("DELETE", f"/agents/{agent.id}", await server.admin_token())
        assert status == 204

        def back_at_login() -> str:
            from selenium.webdriver.common.by import By

            until(driver, lambda d: d.find_elements(By.ID, "login-email"), "the login screen")
            return driver.find_element(By.ID, "login-error").text

        assert "session ended" in await asyncio.to_thread(back_at_login)


async def test_the_console_shows_a_dropped_socket_and_refetches_on_reconnect(chat_server, browsers):
    server = chat_server
    await server.agent("lead@example.com", role="admin", password="correct horse battery")
    await receive(server, "drop-1", "alice", "Is my parcel lost?")
    (ticket,) = await server.tickets()
    driver = await asyncio.to_thread(browsers)

    def open_the_ticket() -> None:
        from selenium.webdriver.common.by import By

        driver.get(server.url + f"/#/tickets/{ticket.id}")
        until(driver, lambda d: d.find_elements(By.ID, "login-email"), "the login form")
        driver.find_element(By.ID, "login-email").send_keys("lead@example.com")
        driver.find_element(By.ID, "login-password").send_keys("correct horse battery")
        driver.find_element(By.ID, "login-submit").click()
        until(driver, lambda d: d.find_elements(By.ID, "action-priority"), "the ticket to open")
        until(driver, lambda d: d.find_element(By.ID, "live-state").text == "Live", "the console to go live")
        driver.execute_script("""
            const node = document.getElementById("live-state");
            window.liveStates = [];
            new MutationObserver(() => window.liveStates.push(node.textContent))
              .observe(node, {childList: true, characterData: true, subtree: true});""")

    await asyncio.to_thread(open_the_ticket)
    # A change no event announces (written straight to the database), then the server drops
    # every agent socket: only a refetch after the reconnection can show the change.
    await models.Ticket.filter(id=ticket.id).update(priority="urgent")
    sids = [sid for sid, _ in server.nexus.sio.manager.get_participants("/", "admins")]
    assert sids
    for sid in sids:
        await server.nexus.sio.disconnect(sid)

    def refetched() -> list[str]:
        from selenium.webdriver.common.by import By

        until(driver, lambda d: d.find_element(By.ID, "action-priority").get_attribute("value") == "urgent",
              "the conversation to be refetched")
        until(driver, lambda d: d.find_element(By.ID, "live-state").text == "Live", "the console to be live again")
        return driver.execute_script("return window.liveStates")

    states = await asyncio.to_thread(refetched)
    assert "Disconnected: reconnecting…" in states, states
