"""Two `ebook-analytics dashboard` processes on one published home, as behind a load balancer: a session signed in
through one is accepted by the other, a role change and a sign-out reach both, and after `etl run` publishes again
both serve the new figures. Driven by the protocol client (pipelines.bench.protocol), as a browser's websocket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import psycopg
import pytest

from pipelines.bench.protocol import View, Viewer
from tests.conftest import copy_published, run_cli
from tests.marts_dataset import DAVE, uid
from tests.test_browser import _serving

PASSWORD = "correct horse battery"
USERS = {"fin@example.com": "finance", "rol@example.com": "finance", "ana@example.com": "analyst"}
MARCH = {"dates": ["2024-03-01", "2024-03-31"]}


@pytest.fixture(scope="module")
def home(
    published_dataset: dict[str, str], create_database: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """A copy of the shared publication on a clone of its source (one test publishes again), with accounts."""
    env = copy_published(published_dataset, tmp_path_factory.mktemp("processes"), create_database)
    for email, role in USERS.items():
        run_cli("users", "add", email, "--role", role, "--password-stdin", env=env, input=f"{PASSWORD}\n")
    return env


@pytest.fixture(scope="module")
def servers(home: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Processes A and B: the same command, the same home, different free ports."""
    with _serving(home, "dashboard") as (a, _), _serving(home, "dashboard") as (b, _):
        yield a, b


def _open(base: str, cookie: str | None, page: str, **query: str | list[str]) -> View:
    async def tab() -> View:
        async with Viewer(base, cookie) as viewer:
            return await viewer.open(page, **query)

    return asyncio.run(tab())


def _sign_in(base: str, email: str) -> str:
    async def form() -> str:
        async with Viewer(base) as viewer:
            return await viewer.sign_in(email, PASSWORD)

    return asyncio.run(form())


def _signed_in(view: View, email: str, role: str) -> bool:
    return f"Signed in as **{email}** ({role})" in view.texts


def _sign_in_form(view: View) -> bool:
    return {"Email", "Password", "Sign in"} <= view.widgets.keys() and not view.metrics


def test_a_session_signed_in_through_one_process_is_accepted_by_the_other(servers: tuple[str, str]) -> None:
    a, b = servers
    cookie = _sign_in(a, "fin@example.com")

    on_a, on_b = (_open(base, cookie, "revenue_share", month="2024-02") for base in (a, b))

    for view in (on_a, on_b):
        assert _signed_in(view, "fin@example.com", "finance") and "Revenue share" in view.headings
        assert (view.exceptions, view.errors) == ([], [])
    # A cookie B did not sign (a made-up signature) is refused by both.
    forged = cookie.rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    assert all(_sign_in_form(_open(base, forged, "revenue_share")) for base in (a, b))


def test_signing_out_through_one_process_ends_the_session_on_the_other(servers: tuple[str, str]) -> None:
    a, b = servers
    cookie = _sign_in(b, "fin@example.com")

    async def sign_out_on_a() -> View:
        async with Viewer(a, cookie) as tab:
            return await tab.press(await tab.open("overview"), "Sign out")

    assert _sign_in_form(asyncio.run(sign_out_on_a()))
    assert _sign_in_form(_open(b, cookie, "overview"))


def test_a_role_change_is_seen_by_both_processes(servers: tuple[str, str], home: dict[str, str]) -> None:
    a, b = servers
    cookie = _sign_in(b, "rol@example.com")
    assert _signed_in(_open(a, cookie, "overview"), "rol@example.com", "finance")

    run_cli("users", "set-role", "rol@example.com", "analyst", env=home)

    # The change signed the account out everywhere; signed in again (through A), both give it the analyst's pages.
    assert _sign_in_form(_open(a, cookie, "overview")) and _sign_in_form(_open(b, cookie, "overview"))
    again = _sign_in(a, "rol@example.com")
    for base in (a, b):
        refused = _open(base, again, "revenue_share", month="2024-02")
        assert _signed_in(refused, "rol@example.com", "analyst")
        assert refused.errors == ["You do not have access to Revenue share."]


def test_a_new_publication_reaches_both_processes(servers: tuple[str, str], home: dict[str, str]) -> None:
    a, b = servers
    cookie = _sign_in(a, "ana@example.com")
    before = [_open(base, cookie, "usage", **MARCH).metrics for base in (a, b)]
    # March: Alice, Bob and Carol have usage (Dave's only usage is in February), costing 0.02 + NULL (0) + 1.50 +
    # 0.00 + 0.01.
    assert [(metrics["Users with usage"], metrics["Usage cost"]) for metrics in before] == [("3", "$1.53")] * 2

    with psycopg.connect(home["EBOOK_ANALYTICS_SOURCE_URL"]) as conn:
        conn.execute(
            "insert into billing.usage_records (id, user_id, subscription_id, resource_type, quantity, total_cost,"
            " usage_date) values (%s, %s, %s, 'exports', 1, 0.50, '2024-03-20')",
            (uid("usage", 9), DAVE, uid("subscription", 4)),
        )
    run_cli("etl", "run", env=home)

    after = [_open(base, cookie, "usage", **MARCH).metrics for base in (a, b)]
    # Dave's export on March 20, for 0.50.
    assert [(metrics["Users with usage"], metrics["Usage cost"]) for metrics in after] == [("4", "$2.03")] * 2
