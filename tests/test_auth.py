"""Access control: roles and pages, local accounts, sign-in with rate limiting, OIDC role mapping, --no-auth."""

from __future__ import annotations

import json
import os
import pty
import select
import stat
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboards.auth import PAGES, ROLES, allowed_pages, can_see_revenue, ratelimit, sees_personal_data
from dashboards.auth.session import NO_AUTH_NOTICE, SIGN_IN_FAILED, ensure_no_auth_allowed
from dashboards.auth.users import add_user, authenticate, ensure_demo_admin, list_users
from dashboards.pages import REGISTRY
from pipelines.errors import UserError
from pipelines.queries import QUERIES_DIR
from tests.conftest import REPO_ROOT, run_cli, use_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data folder for this test (accounts, login failures), in this process and for the CLI."""
    use_settings(monkeypatch, {"EBOOK_ANALYTICS_HOME": str(tmp_path / "home")})
    return tmp_path / "home"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return dict(os.environ)


def sign_in_app() -> None:
    """The smallest app behind the sign-in: AppTest runs this function's body as a script."""
    import streamlit as st

    from dashboards.auth import auth_notice, require_user

    user = require_user()
    auth_notice()
    assert require_user() == user  # callable again: renders nothing twice
    st.write(f"hello {user.email} as {user.role}")


def sign_in(at: AppTest, email: str, password: str) -> AppTest:
    at.text_input(key="sign_in_email").input(email)
    at.text_input(key="sign_in_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def errors(at: AppTest) -> list[str]:
    return [element.value for element in at.error]


def test_role_page_map() -> None:
    assert ROLES == ("admin", "finance", "analyst", "product")
    assert allowed_pages("admin") == list(PAGES)
    assert allowed_pages("finance") == [
        "overview",
        "revenue_share",
        "ai_cost",
        "unit_economics",
        "data_quality",
        "alerts",
    ]
    assert allowed_pages("analyst") == [
        "overview",
        "usage",
        "ai_cost",
        "unit_economics",
        "writing_progress",
        "data_quality",
        "alerts",
    ]
    assert allowed_pages("product") == ["overview", "writing_progress", "engagement", "data_quality", "alerts"]
    assert allowed_pages("intruder") == []
    assert [role for role in ROLES if sees_personal_data(role)] == ["admin", "finance"]
    assert [role for role in ROLES if can_see_revenue(role)] == ["admin", "finance"]
    assert not sees_personal_data("intruder")


def test_users_cli_round_trip(env: dict[str, str], home: Path) -> None:
    env = {name: value for name, value in env.items() if name != "EBOOK_ANALYTICS_PASSWORD_ROUNDS"}  # the default
    added = run_cli(
        "users", "add", "Alice@Example.com", "--role", "finance", "--password-stdin", env=env, input=PASSWORD + "\n"
    )
    assert added.stdout == "added alice@example.com (finance)\n"
    run_cli("users", "add", "bob@example.com", "--role", "product", "--password-stdin", env=env, input=PASSWORD)

    listing = run_cli("users", "list", env=env).stdout.splitlines()
    assert listing[0].split() == ["email", "role", "created"]
    assert [line.split()[:2] for line in listing[1:]] == [
        ["alice@example.com", "finance"],
        ["bob@example.com", "product"],
    ]

    assert (
        run_cli("users", "set-role", "bob@example.com", "analyst", env=env).stdout == "bob@example.com is now analyst\n"
    )
    assert run_cli("users", "remove", "ALICE@example.com", env=env).stdout == "removed alice@example.com\n"
    assert [(a.email, a.role) for a in list_users()] == [("bob@example.com", "analyst")]

    # The file is the owner's only, its hash is bcrypt (cost 12) and checks out; no output ever shows a hash.
    users_file = home / "users.json"
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    stored = json.loads(users_file.read_text())["users"]["bob@example.com"]["password_hash"]
    assert stored.startswith("$2b$12$") and len(stored) == 60
    assert authenticate("bob@example.com", PASSWORD).role == "analyst"
    for output in (added.stdout + added.stderr, "\n".join(listing)):
        assert "$2b$" not in output and PASSWORD not in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["add", "not-an-email", "--role", "admin"],
            "error: 'not-an-email' is not an email address; give one like name@example.com\n",
        ),
        (
            ["add", "a@example.com", "--role", "boss"],
            "error: unknown role 'boss'; use one of: admin, finance, analyst, product\n",
        ),
        (
            ["add", "a@example.com", "--role", "admin"],
            "error: no terminal to ask for the password; pipe it in with --password-stdin\n",
        ),
        (
            ["set-role", "a@example.com", "root"],
            "error: unknown role 'root'; use one of: admin, finance, analyst, product\n",
        ),
        (
            ["remove", "ghost@example.com"],
            "error: ghost@example.com has no account; `ebook-analytics users list` shows who has one\n",
        ),
    ],
)
def test_users_cli_bad_input(env: dict[str, str], home: Path, args: list[str], message: str) -> None:
    result = run_cli("users", *args, env=env, check=False, input="")
    assert (result.returncode, result.stderr, result.stdout) == (1, message, "")
    assert not (home / "users.json").exists()


def run_on_terminal(args: list[str], env: dict[str, str], answers: list[tuple[bytes, str]]) -> tuple[int, str]:
    """Run `ebook-analytics ARGS` on a pseudo-terminal, answering each prompt; returns (exit code, screen text)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty, as when a person types the command
        os.chdir(REPO_ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "pipelines.cli", *args], env)
    screen = b""

    def read_until(marker: bytes | None) -> None:
        nonlocal screen
        deadline = time.monotonic() + 30
        while (marker is None or marker not in screen) and time.monotonic() < deadline:
            if select.select([fd], [], [], 1)[0]:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:  # the child exited and closed the terminal
                    return
                if not chunk:
                    return
                screen += chunk

    for prompt, answer in answers:
        read_until(prompt)
        os.write(fd, answer.encode() + b"\n")
    read_until(None)
    os.close(fd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), screen.decode()


def test_users_add_prompts_twice_without_echo(env: dict[str, str]) -> None:
    code, screen = run_on_terminal(
        ["users", "add", "tty@example.com", "--role", "product"],
        env,
        [(b"Password: ", PASSWORD), (b"Repeat the password: ", PASSWORD)],
    )
    assert code == 0
    assert screen.replace("\r", "") == "Password: \nRepeat the password: \nadded tty@example.com (product)\n"
    assert authenticate("tty@example.com", PASSWORD).role == "product"

    code, screen = run_on_terminal(
        ["users", "add", "typo@example.com", "--role", "product"],
        env,
        [(b"Password: ", PASSWORD), (b"Repeat the password: ", PASSWORD + "!")],
    )
    assert code == 1 and screen.endswith("error: the two passwords differ; run the command again\r\n")
    assert [a.email for a in list_users()] == ["tty@example.com"]


def test_users_cli_refuses_weak_password_and_duplicates(env: dict[str, str]) -> None:
    short = run_cli(
        "users", "add", "a@example.com", "--role", "admin", "--password-stdin", env=env, check=False, input="short\n"
    )
    assert short.stderr == "error: the password is too short; use at least 8 characters\n"
    run_cli("users", "add", "a@example.com", "--role", "admin", "--password-stdin", env=env, input=PASSWORD)
    again = run_cli(
        "users", "add", "A@example.com", "--role", "product", "--password-stdin", env=env, check=False, input=PASSWORD
    )
    assert again.returncode == 1
    assert again.stderr.startswith("error: a@example.com already has an account;")
    assert [(a.email, a.role) for a in list_users()] == [("a@example.com", "admin")]


def test_a_damaged_users_file_is_reported_in_one_line(env: dict[str, str], home: Path) -> None:
    home.mkdir(parents=True)
    (home / "users.json").write_text('{"users": {')
    result = run_cli("users", "list", env=env, check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: {home / 'users.json'} is damaged (Expecting property name enclosed in double "
        "quotes at line 1); fix it or move it away\n"
    )


def test_demo_admin_gets_a_fresh_working_password(home: Path) -> None:
    email, first = ensure_demo_admin()
    email_again, second = ensure_demo_admin()
    assert email == email_again == "demo@ebook-analytics.local"
    assert first != second
    assert authenticate(email, first) is None
    assert authenticate(email, second).role == "admin"
    assert [(a.email, a.role) for a in list_users()] == [(email, "admin")]


def test_the_cost_of_new_hashes_follows_the_setting(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBOOK_ANALYTICS_PASSWORD_ROUNDS", "5")
    add_user("five@example.com", "analyst", PASSWORD)
    monkeypatch.setenv("EBOOK_ANALYTICS_PASSWORD_ROUNDS", "6")
    add_user("six@example.com", "analyst", PASSWORD)
    stored = json.loads((home / "users.json").read_text())["users"]
    assert [stored[email]["password_hash"][:7] for email in ("five@example.com", "six@example.com")] == [
        "$2b$05$",
        "$2b$06$",
    ]
    assert authenticate("five@example.com", PASSWORD).role == "analyst"  # a hash keeps the cost it was made with
    for bad in ("3", "32", "twelve"):
        monkeypatch.setenv("EBOOK_ANALYTICS_PASSWORD_ROUNDS", bad)
        with pytest.raises(UserError) as refused:
            add_user("bad@example.com", "analyst", PASSWORD)
        assert str(refused.value) == (
            f"EBOOK_ANALYTICS_PASSWORD_ROUNDS is {bad!r}; set it to a whole number of bcrypt rounds (log2) from 4 to "
            "31 (default 12)"
        )
    assert sorted(json.loads((home / "users.json").read_text())["users"]) == ["five@example.com", "six@example.com"]


def test_unknown_email_costs_a_bcrypt_check(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EBOOK_ANALYTICS_PASSWORD_ROUNDS")  # the default cost
    add_user("known@example.com", "analyst", PASSWORD)
    assert authenticate("known@example.com", "wrong password") is None
    started = time.perf_counter()
    assert authenticate("nobody@example.com", "wrong password") is None
    # A cost-12 bcrypt check takes ~0.2 s; a plain dictionary miss would take microseconds.
    assert time.perf_counter() - started > 0.05
    assert authenticate("nobody@example.com", "x" * 100) is None  # longer than bcrypt accepts: no crash


def test_sign_in_and_out(home: Path) -> None:
    add_user("carol@example.com", "product", PASSWORD)
    at = AppTest.from_function(sign_in_app).run()
    assert [title.value for title in at.title] == ["Ebook analytics"]
    assert at.markdown.len == 0

    sign_in(at, "Carol@Example.com", PASSWORD)
    assert [m.value for m in at.markdown] == ["hello carol@example.com as product"]
    assert [c.value for c in at.sidebar.caption] == ["Signed in as **carol@example.com** (product)"]

    at.sidebar.button(key="auth_sign_out").click().run()
    assert at.markdown.len == 0 and [title.value for title in at.title] == ["Ebook analytics"]


def test_role_change_and_removal_sign_the_account_out(env: dict[str, str]) -> None:
    add_user("dave@example.com", "finance", PASSWORD)
    at = sign_in(AppTest.from_function(sign_in_app).run(), "dave@example.com", PASSWORD)
    assert [m.value for m in at.markdown] == ["hello dave@example.com as finance"]
    run_cli("users", "set-role", "dave@example.com", "analyst", env=env)
    at.run()  # the next click: the session is gone, the new role needs a new sign-in
    assert at.markdown.len == 0 and at.text_input(key="sign_in_email").value == ""
    assert [m.value for m in sign_in(at, "dave@example.com", PASSWORD).markdown] == [
        "hello dave@example.com as analyst"
    ]
    run_cli("users", "remove", "dave@example.com", env=env)
    at.run()
    assert at.markdown.len == 0 and at.text_input(key="sign_in_email").value == ""


def test_failed_sign_ins_are_rate_limited_alike_for_known_and_unknown_emails(home: Path) -> None:
    add_user("erin@example.com", "analyst", PASSWORD)
    outcomes: dict[str, list[str]] = {}
    for email in ("erin@example.com", "nobody@example.com"):
        at = AppTest.from_function(sign_in_app).run()  # a new browser session for each email
        outcomes[email] = [errors(sign_in(at, email, f"wrong {attempt}"))[0] for attempt in range(5)]
        outcomes[email].append(errors(sign_in(at, email, PASSWORD))[0])  # even the right password, now
    assert (
        outcomes["erin@example.com"]
        == outcomes["nobody@example.com"]
        == [SIGN_IN_FAILED] * 5 + ["Too many failed sign-ins. Try again in 10 min."]
    )
    # The lock is on the email, not only the session: a new session is refused too.
    at = sign_in(AppTest.from_function(sign_in_app).run(), "erin@example.com", PASSWORD)
    assert errors(at) == ["Too many failed sign-ins. Try again in 10 min."] and at.markdown.len == 0


def test_one_session_cannot_spray_many_emails(home: Path) -> None:
    add_user("frank@example.com", "analyst", PASSWORD)
    at = AppTest.from_function(sign_in_app).run()
    for attempt in range(5):
        assert errors(sign_in(at, f"guess{attempt}@example.com", PASSWORD)) == [SIGN_IN_FAILED]
    assert errors(sign_in(at, "frank@example.com", PASSWORD)) == ["Too many failed sign-ins. Try again in 10 min."]
    # frank himself, from another session, is not locked out by the sprayer.
    at = sign_in(AppTest.from_function(sign_in_app).run(), "frank@example.com", PASSWORD)
    assert [m.value for m in at.markdown] == ["hello frank@example.com as analyst"]


def test_rate_limit_window(home: Path) -> None:
    keys = ["email:a@example.com", "session:s1"]
    for second in range(4):
        ratelimit.record_failure(keys, now=1000.0 + second)
    assert ratelimit.retry_after(keys, now=1004.0) == 0  # four failures: still allowed
    ratelimit.record_failure(keys, now=1004.0)
    assert ratelimit.retry_after(keys, now=1004.0) == 596  # until the first failure (t=1000) is 600 s old
    assert ratelimit.retry_after(["email:b@example.com"], now=1004.0) == 0
    assert ratelimit.retry_after(keys, now=1599.5) == 1
    assert ratelimit.retry_after(keys, now=1600.0) == 0
    ratelimit.clear(keys)
    assert ratelimit.retry_after(keys, now=1004.0) == 0
    # Stored keys are digests: a mistyped email is not written down.
    assert "a@example.com" not in (home / "login_failures.json").read_text()


ROLES_FILE = '"Grace@Example.com" = "finance"\n"heidi@example.com" = "superuser"\n'
OIDC_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "s",
        "client_id": "c",
        "client_secret": "s",
        "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
    }
}


@pytest.mark.parametrize(
    ("email", "expected_markdown", "expected_errors"),
    [
        ("grace@example.com", ["hello grace@example.com as finance"], []),
        (
            "ivan@example.com",
            [],
            ["ivan@example.com has no access to these dashboards. Ask an admin to add it to the roles file."],
        ),
        (
            "heidi@example.com",
            [],
            ["heidi@example.com has no access to these dashboards. Ask an admin to add it to the roles file."],
        ),
    ],
)
def test_oidc_identity_gets_its_role_from_the_roles_file(
    home: Path, email: str, expected_markdown: list[str], expected_errors: list[str]
) -> None:
    home.mkdir(parents=True)
    (home / "roles.toml").write_text(ROLES_FILE)
    at = AppTest.from_function(sign_in_app)
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in"] and at.markdown.len == 0
    at.user = {"is_logged_in": True, "email": email}
    at.run()
    assert [m.value for m in at.markdown] == expected_markdown
    assert errors(at) == expected_errors


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20", "::", "example.com", ""])
def test_no_auth_refused_off_loopback(monkeypatch: pytest.MonkeyPatch, home: Path, address: str) -> None:
    with pytest.raises(UserError, match="--no-auth is allowed only on a loopback address"):
        ensure_no_auth_allowed(address)
    monkeypatch.setenv("EBOOK_ANALYTICS_NO_AUTH", "1")
    monkeypatch.setenv("EBOOK_ANALYTICS_BIND_ADDRESS", address)
    at = AppTest.from_function(sign_in_app).run()
    assert errors(at) == ["No-authentication mode is refused: this server is not bound to a loopback address."]
    assert at.markdown.len == 0


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_no_auth_on_loopback_is_a_local_admin_with_a_notice(
    monkeypatch: pytest.MonkeyPatch, home: Path, address: str
) -> None:
    ensure_no_auth_allowed(address)
    monkeypatch.setenv("EBOOK_ANALYTICS_NO_AUTH", "1")
    monkeypatch.setenv("EBOOK_ANALYTICS_BIND_ADDRESS", address)
    at = AppTest.from_function(sign_in_app).run()
    assert [w.value for w in at.warning] == [NO_AUTH_NOTICE]
    assert [m.value for m in at.markdown] == ["hello local as admin"]


# --- the real dashboards' navigation (no warehouse needed: pages are registered before the data is read) ----------

APP = str(REPO_ROOT / "dashboards" / "app.py")


def signed_in_app(role: str) -> AppTest:
    email = f"{role}@example.com"
    add_user(email, role, PASSWORD)
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), email, PASSWORD)
    assert not at.exception, [e.message for e in at.exception]
    return at


def registered_pages(at: AppTest) -> list[str]:
    """The pages the navigation registered: AppTest can switch only to those."""
    registered = []
    for key in PAGES:
        try:
            at.switch_page(f"views/{key}.py")
        except ValueError:
            continue
        registered.append(key)
    return registered


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_pages(home: Path, role: str) -> None:
    at = signed_in_app(role)
    assert registered_pages(at) == allowed_pages(role)
    assert [title.value for title in at.title] == ["Overview"]
    assert [c.value for c in at.sidebar.caption][:1] == [f"Signed in as **{role}@example.com** ({role})"]


def test_a_page_the_role_lost_is_not_rendered(env: dict[str, str]) -> None:
    at = signed_in_app("finance")
    at.switch_page("views/revenue_share.py").run()
    assert [title.value for title in at.title] == ["Revenue share"] and not at.exception
    # The same tab, still asking for the revenue page (as a bookmarked URL would), after losing the role.
    run_cli("users", "set-role", "finance@example.com", "analyst", env=env)
    sign_in(at.run(), "finance@example.com", PASSWORD)
    assert not at.exception
    assert [title.value for title in at.title] == []
    assert errors(at) == ["You do not have access to Revenue share."]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/revenue_share.py")


def guarded_page_app() -> None:
    import streamlit as st

    from dashboards.auth import ensure_page_allowed, require_user

    ensure_page_allowed(require_user(), "revenue_share")
    st.write("revenue figures")


@pytest.mark.parametrize(
    ("role", "shown"), [("finance", True), ("admin", True), ("analyst", False), ("product", False)]
)
def test_page_guard_refuses_on_the_server(home: Path, role: str, shown: bool) -> None:
    add_user(f"{role}@example.com", role, PASSWORD)
    at = sign_in(AppTest.from_function(guarded_page_app).run(), f"{role}@example.com", PASSWORD)
    assert [m.value for m in at.markdown] == (["revenue figures"] if shown else [])
    assert errors(at) == ([] if shown else [f"Your role ({role}) does not give access to this page."])


def test_dashboard_command_refuses_no_auth_off_loopback(env: dict[str, str]) -> None:
    result = run_cli("dashboard", "--no-auth", "--host", "0.0.0.0", "--port", "8599", env=env, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        "error: --no-auth is allowed only on a loopback address, not 0.0.0.0; drop --no-auth "
        "(and add accounts with `ebook-analytics users add`) or bind to 127.0.0.1\n"
    )


def test_the_page_registry_is_whole() -> None:
    """Every page names known roles, an existing view and report folder; every report folder has its page."""
    assert all(page.roles <= set(ROLES) and page.view_path.is_file() for page in REGISTRY)
    folders = sorted(path.name for path in (QUERIES_DIR / "reports").iterdir() if path.is_dir())
    assert sorted(page.reports for page in REGISTRY if page.reports) == folders


@pytest.mark.parametrize("doc", ["README.md", "docs/access-control.md"])
def test_the_roles_tables_give_each_page_to_the_roles_the_registry_does(doc: str) -> None:
    """The tables are written by hand (their cells say what each role sees there), so their yes/blank is held to the
    page registry, the one source of who opens which page."""
    lines = (REPO_ROOT / doc).read_text().splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("| page |"))
    table = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[start:]]
    table = table[: next(index for index, row in enumerate(table) if len(row) != len(table[0]))]
    (_, *roles), _, *rows = table
    assert sorted(roles) == sorted(ROLES)
    opened = {}
    for name, *cells in rows:
        titled = [page for page in REGISTRY if name.startswith(page.title)]
        if titled:
            page = max(titled, key=lambda page: len(page.title))
            opened[page.key] = {role for role, cell in zip(roles, cells, strict=True) if cell}
    assert opened == {page.key: set(page.roles) for page in REGISTRY}
