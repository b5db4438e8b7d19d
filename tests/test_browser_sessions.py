"""Sessions that last, in headless Debian Chromium against the real server (`ebook-analytics dashboard`, with
sign-in): reloads, new tabs and deep links keep the session, page and filters; sign-out ends it everywhere (the old
cookie stops working); a page the role may not open says so; a short lifetime set through the settings expires; a
second server process on the same home shares the sessions. (That a role change signs the account out on every
process is tests/test_dashboard_processes.py's, driven by the protocol client as a browser's websocket.)"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.conftest import copy_published, run_cli
from tests.test_browser import MARCH, PAGE_TIMEOUT_MS, _metric, _serving, headless_chromium

PASSWORD = "correct horse battery"
COOKIE = "ebook_analytics_session"
LIFETIME_S = 6  # the short-lived server's sessions: long enough to sign in under load, short to wait out
USERS = {"ana@example.com": "analyst", "fin@example.com": "finance", "pat@example.com": "product"}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def published(published_dataset: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A copy of the published dataset's data folder with one account per role the tests sign in as."""
    env = copy_published(published_dataset, tmp_path_factory.mktemp("sessions"))
    for email, role in USERS.items():
        run_cli("users", "add", email, "--role", role, "--password-stdin", env=env, input=f"{PASSWORD}\n")
    return env


@pytest.fixture(scope="module")
def server(published: dict[str, str]) -> Iterator[str]:
    with _serving(published, "dashboard") as (base, _):
        yield base


@pytest.fixture(scope="module")
def browser(server: str):
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def context(browser):
    """A fresh browser profile (no cookies) for one test."""
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    fresh.set_default_timeout(PAGE_TIMEOUT_MS)
    yield fresh
    fresh.close()


def _sign_in(tab, email: str) -> None:
    """Fill in the sign-in form the tab shows and wait until the cookie is set (the hand-off's POST answered)."""
    tab.get_by_label("Email").fill(email)
    tab.get_by_role("textbox", name="Password").fill(PASSWORD)
    with tab.expect_response(lambda response: response.url.endswith("/session/start")) as handoff:
        tab.get_by_role("button", name="Sign in").click()
    assert handoff.value.status == 204
    _signed_in_as(tab, email)


def _signed_in_as(tab, email: str) -> None:
    tab.get_by_text(f"Signed in as {email}").wait_for()
    tab.wait_for_load_state("networkidle")


def _one(locator) -> None:
    """Exactly one such element, once the page has drawn it (Streamlit draws after the page has loaded)."""
    locator.first.wait_for()
    assert locator.count() == 1


def _sign_in_form(tab) -> None:
    tab.get_by_role("button", name="Sign in").wait_for()
    # Streamlit keeps the last run's elements on screen until the new run ends: wait for the old greeting to go.
    tab.get_by_text("Signed in as").first.wait_for(state="detached")
    assert tab.get_by_text("Signed in as").count() == 0


def _cookie(context) -> dict:
    (cookie,) = [cookie for cookie in context.cookies() if cookie["name"] == COOKIE]
    return cookie


def test_a_deep_link_keeps_its_page_and_filters_through_sign_in_reload_and_new_tab(context, server: str) -> None:
    tab = context.new_page()
    tab.goto(f"{server}/usage{MARCH}&tier=premium")
    _sign_in(tab, "ana@example.com")
    assert re.fullmatch(rf"{server}/usage\?dates=2024-03-01&dates=2024-03-31&tier=premium", tab.url)
    _one(tab.get_by_role("heading", name="Usage"))
    assert _metric(tab, "Users with usage") == "1"  # only Alice is premium (3 users without the tier filter)
    cookie = _cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # plain http here
    assert tab.evaluate("document.cookie").find(COOKIE) == -1  # page scripts never see it

    tab.reload()
    _signed_in_as(tab, "ana@example.com")
    assert _metric(tab, "Users with usage") == "1"

    second = context.new_page()  # a new tab, or a bookmark
    second.goto(f"{server}/ai_cost{MARCH}")
    _signed_in_as(second, "ana@example.com")
    _one(second.get_by_role("heading", name="AI cost"))


def test_sign_out_ends_the_session_in_every_tab_and_the_old_cookie_stops_working(context, browser, server: str) -> None:
    first = context.new_page()
    first.goto(server)
    _sign_in(first, "fin@example.com")
    second = context.new_page()
    second.goto(f"{server}/revenue_share?month=2024-02")
    _signed_in_as(second, "fin@example.com")
    old = _cookie(context)

    first.bring_to_front()  # where the person clicks (a tab behind another draws its frames seconds apart)
    with first.expect_response(lambda response: response.url.endswith("/session/end")):
        first.get_by_role("button", name="Sign out").click()
    _sign_in_form(first)
    assert COOKIE not in [cookie["name"] for cookie in context.cookies()]

    # The other tab is refused at its next click; a browser that kept the old cookie is refused too.
    second.locator('[data-testid="stSidebarNav"] a').filter(has_text="Overview").click()
    _sign_in_form(second)
    stolen = browser.new_context()
    stolen.add_cookies([{key: old[key] for key in ("name", "value", "domain", "path")}])
    third = stolen.new_page()
    third.goto(f"{server}/revenue_share?month=2024-02")
    _sign_in_form(third)
    stolen.close()


def test_a_page_the_role_may_not_open_says_so_and_links_the_pages_it_may(context, server: str) -> None:
    tab = context.new_page()
    tab.goto(f"{server}/revenue_share?month=2024-02")
    _sign_in(tab, "pat@example.com")
    tab.get_by_text("You do not have access to Revenue share.").wait_for()
    assert tab.url == f"{server}/revenue_share?month=2024-02"
    links = tab.locator('[data-testid="stMain"] [data-testid="stPageLink"]')
    links.nth(4).wait_for()  # the links draw after the message
    # Each link reads "<icon name>\n<title>": the product role's pages, in navigation order.
    assert [text.split("\n")[-1] for text in links.all_inner_texts()] == [
        "Overview",
        "Writing progress",
        "Engagement",
        "Data quality",
        "Alerts",
    ]
    links.filter(has_text="Engagement").click()
    tab.wait_for_url(f"{server}/engagement")
    tab.get_by_role("heading", name="Engagement").wait_for()


def test_a_second_process_shares_sessions_and_a_short_lifetime_expires(
    context, server: str, published: dict[str, str]
) -> None:
    with _serving({**published, "EBOOK_ANALYTICS_SESSION_LIFETIME": f"{LIFETIME_S}s"}, "dashboard") as (short, _):
        tab = context.new_page()
        tab.goto(server)
        _sign_in(tab, "ana@example.com")
        tab.goto(short)  # another process on the same home: the same session (cookies ignore the port)
        _signed_in_as(tab, "ana@example.com")

        context.clear_cookies()
        tab.goto(f"{short}/usage")
        asked = time.time()
        _sign_in(tab, "ana@example.com")  # signed in on the short-lived server: a session of LIFETIME_S
        cookie = _cookie(context)
        assert asked + LIFETIME_S - 1 <= cookie["expires"] <= time.time() + LIFETIME_S  # the setting's Max-Age
        # The browser drops it at its Max-Age; the server's own expiry, counted from before its answer, is earlier.
        deadline = time.monotonic() + LIFETIME_S + 10
        while COOKIE in [kept["name"] for kept in context.cookies()] and time.monotonic() < deadline:
            tab.wait_for_timeout(100)
        assert COOKIE not in [kept["name"] for kept in context.cookies()]
        context.add_cookies([{**cookie, "expires": cookie["expires"] + 3600}])  # one that does not: refused
        tab.reload()
        _sign_in_form(tab)
