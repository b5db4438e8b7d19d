"""Privacy in the warehouse: secrets never extracted, emails and names only in staging.user_pii, none at all under
`etl run --redact-pii`, and pseudonymous keys that are stable, keyed and unguessable without the key."""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from streamlit.testing.v1 import AppTest

from dashboards.auth import ROLES, allowed_pages, pseudonym, sees_personal_data
from dashboards.auth.users import add_user
from pipelines.warehouse import connect
from tests.conftest import REPO_ROOT, cli_environment, copy_folder, run_cli, table_checksums, use_settings
from tests.etl_rows import values_matching, warehouse_columns

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
NEVER_EXTRACTED = (
    "password_hash",
    "session_token",
    "ip_address",
    "external_id",
    "payout_method",
    "api_endpoint",
    "user_agent",
    "stripe_subscription_id",
)
APP = str(REPO_ROOT / "dashboards" / "app.py")
PASSWORD = "correct horse battery"
ALICE, BOB = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000b0"

# One of everything the ETL reads, plus secrets and emails in every column it must not read: if any of them is
# extracted, a marker ("SECRET", an address) shows up in the warehouse.
SOURCE_ROWS = f"""
insert into users.users (id, email, username, password_hash, first_name, last_name, avatar_url, created_at,
                         updated_at, last_login_at) values
  ('{ALICE}', 'alice.author@example.com', 'alice_writes', 'SECRET-hash-a', 'Alicia', 'Authorsson',
   'https://cdn.example.com/alice.author@example.com.png', '2024-03-01 23:30:00-05', '2024-03-02 10:00:00+00',
   '2024-03-05 08:00:00+00'),
  ('{BOB}', 'Bob.Reader@Example.org', 'bobr', 'SECRET-hash-b', null, null, null, '2024-03-03 00:10:00+00',
   '2024-03-03 00:10:00+00', null);
insert into users.user_auth_methods (id, user_id, method_type, external_id, is_primary, metadata, created_at) values
  ('00000000-0000-0000-0000-0000000000c1', '{ALICE}', 'google', 'SECRET-external', true,
   '{{"email": "alice.author@example.com"}}', '2024-03-02 04:30:00+00');
insert into users.user_sessions (id, user_id, session_token, ip_address, user_agent, expires_at, created_at) values
  ('00000000-0000-0000-0000-0000000000d1', '{ALICE}', 'SECRET-token', '203.0.113.7', 'SECRET-agent',
   '2024-03-09 00:00:00+00', '2024-03-02 05:00:00+00');
insert into users.user_organizations (id, name, owner_id, created_at) values
  ('00000000-0000-0000-0000-0000000000e1', 'Authorsson Press', '{ALICE}', '2024-03-02 06:00:00+00');
insert into users.organization_members (id, organization_id, user_id, role, joined_at) values
  ('00000000-0000-0000-0000-0000000000e2', '00000000-0000-0000-0000-0000000000e1', '{BOB}', 'editor',
   '2024-03-03 01:00:00+00');
insert into content.projects (id, title, description, genre, target_word_count, owner_id, status, created_at,
                              updated_at) values
  ('00000000-0000-0000-0000-0000000000f1', 'The Long Night', 'contact alice.author@example.com', 'fantasy',
   50000, '{ALICE}', 'in_progress', '2024-03-02 07:00:00+00', '2024-03-04 07:00:00+00');
insert into content.project_collaborators (id, project_id, user_id, role, invited_by, invited_at, accepted_at) values
  ('00000000-0000-0000-0000-0000000000f2', '00000000-0000-0000-0000-0000000000f1', '{BOB}', 'reviewer', '{ALICE}',
   '2024-03-03 02:00:00+00', '2024-03-03 03:00:00+00');
insert into content.chapters (id, project_id, title, position, content, notes, word_count, character_count,
                              status, created_at, updated_at) values
  ('00000000-0000-0000-0000-000000000101', '00000000-0000-0000-0000-0000000000f1', 'One', 1,
   'Write to Bob.Reader@Example.org', 'SECRET notes', 5, 31, 'draft', '2024-03-02 08:00:00+00',
   '2024-03-04 08:00:00+00');
insert into content.content_versions (id, chapter_id, version_number, content, changed_by, change_type, created_at,
                                      word_count) values
  ('00000000-0000-0000-0000-000000000102', '00000000-0000-0000-0000-000000000101', 1,
   'Write to Bob.Reader@Example.org', '{ALICE}', 'manual', '2024-03-04 08:00:00+00', 5);
insert into ai_processing.ai_providers (id, name, api_endpoint, configuration, cost_per_token, created_at) values
  ('00000000-0000-0000-0000-000000000201', 'openai', 'https://SECRET-endpoint.example.com/v1',
   '{{"api_key": "SECRET-key"}}', 0.00000200, '2024-01-01 00:00:00+00');
insert into ai_processing.ai_models (id, provider_id, name, version, context_window, max_tokens,
                                     cost_per_input_token, cost_per_output_token) values
  ('00000000-0000-0000-0000-000000000202', '00000000-0000-0000-0000-000000000201', 'gpt-4o', '2024-05', 128000,
   4096, 0.00000250, 0.00001000);
insert into ai_processing.ai_generations (id, user_id, project_id, chapter_id, model_id, prompt, response,
                                          tokens_used, cost, processing_time_ms, status, created_at, started_at,
                                          completed_at) values
  ('00000000-0000-0000-0000-000000000203', '{ALICE}', '00000000-0000-0000-0000-0000000000f1',
   '00000000-0000-0000-0000-000000000101', '00000000-0000-0000-0000-000000000202',
   'SECRET prompt by alice.author@example.com', 'SECRET response', 1200, 0.012000, 900, 'completed',
   '2024-03-04 09:00:00+00', '2024-03-04 09:00:00+00', '2024-03-04 09:00:01+00');
insert into ai_processing.prompt_templates (id, name, category, user_prompt_template, created_by, created_at) values
  ('00000000-0000-0000-0000-000000000204', 'Outline', 'planning', 'SECRET template', '{ALICE}',
   '2024-03-02 09:00:00+00');
insert into billing.subscription_plans (id, name, price, billing_cycle, ai_tokens_included, created_at) values
  ('00000000-0000-0000-0000-000000000301', 'Pro', 19.00, 'monthly', 100000, '2024-01-01 00:00:00+00');
insert into billing.user_subscriptions (id, user_id, plan_id, stripe_subscription_id, status, current_period_start,
                                        current_period_end, amount, created_at, updated_at) values
  ('00000000-0000-0000-0000-000000000302', '{ALICE}', '00000000-0000-0000-0000-000000000301', 'sub_SECRET',
   'active', '2024-03-02 00:00:00+00', '2024-04-02 00:00:00+00', 19.00, '2024-03-02 00:00:00+00',
   '2024-03-02 00:00:00+00');
insert into billing.usage_records (id, user_id, subscription_id, resource_type, quantity, unit_cost, total_cost,
                                   ai_generation_id, usage_date, created_at) values
  ('00000000-0000-0000-0000-000000000303', '{ALICE}', '00000000-0000-0000-0000-000000000302', 'ai_tokens', 1200,
   0.000010, 0.01, '00000000-0000-0000-0000-000000000203', '2024-03-04', '2024-03-04 09:00:01+00');
insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate, user_revenue,
                                    platform_revenue, payout_status, payout_method, revenue_period_start,
                                    revenue_period_end, created_at) values
  ('00000000-0000-0000-0000-000000000304', '{ALICE}', '00000000-0000-0000-0000-0000000000f1', 100.00, 0.1000,
   90.00, 10.00, 'pending', '{{"paypal": "alice.author@example.com", "iban": "SECRET-iban"}}', '2024-03-01',
   '2024-03-31', '2024-04-01 00:00:00+00');
insert into analytics.user_events (id, user_id, session_id, event_type, event_category, event_data, page_url,
                                   referrer, user_agent, ip_address, "timestamp") values
  ('00000000-0000-0000-0000-000000000401', '{ALICE}', '00000000-0000-0000-0000-0000000000d1', 'login', 'auth',
   '{{"email": "alice.author@example.com"}}', 'https://app.example.com/?u=alice.author@example.com',
   'SECRET-referrer', 'SECRET-agent', '203.0.113.7', '2024-03-02 05:00:00+00');
"""


@pytest.fixture(scope="module")
def published(create_database, schema_template: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The CLI environment of a data folder whose warehouse was published from SOURCE_ROWS (not redacted)."""
    source_url = create_database(template=schema_template)
    with psycopg.connect(source_url) as conn:
        conn.execute(SOURCE_ROWS)
    env = cli_environment(tmp_path_factory.mktemp("privacy"), source_url)
    run_cli("etl", "run", env=env)
    return env


def test_emails_and_names_only_in_user_pii_and_no_secret_extracted(published: dict[str, str]) -> None:
    path = Path(published["EBOOK_ANALYTICS_WAREHOUSE"])
    columns = warehouse_columns(path)
    assert {table for schema, table, _ in columns if schema == "marts"}, "the run published no marts"
    assert [f"{s}.{t}.{c}" for s, t, c in columns if c in NEVER_EXTRACTED] == []
    assert values_matching(path, EMAIL.pattern) == {
        "staging.user_pii.email": ["Bob.Reader@Example.org", "alice.author@example.com"],
    }
    assert values_matching(path, "Alicia|Authorsson|alice_writes|bobr") == {
        "staging.user_pii.first_name": ["Alicia"],
        "staging.user_pii.last_name": ["Authorsson"],
        "staging.user_pii.username": ["alice_writes", "bobr"],
    }
    assert values_matching(path, "SECRET|203\\.0\\.113\\.7") == {}


def test_redact_pii_drops_the_pii_an_earlier_run_staged(published: dict[str, str], tmp_path: Path) -> None:
    # A copy of the published data folder, so the redacted run starts from a warehouse that holds user_pii.
    copy_folder(published["EBOOK_ANALYTICS_HOME"], tmp_path / "home")
    env = cli_environment(tmp_path, published["EBOOK_ANALYTICS_SOURCE_URL"])
    path = Path(env["EBOOK_ANALYTICS_WAREHOUSE"])
    assert "staging.user_pii.email" in values_matching(path, EMAIL.pattern)

    run_cli("etl", "run", "--redact-pii", env=env)
    tables = {f"{schema}.{table}" for schema, table, _ in warehouse_columns(path)}
    assert "staging.users" in tables and "staging.user_pii" not in tables
    assert values_matching(path, EMAIL.pattern) == {}
    assert values_matching(path, "Alicia|Authorsson|alice_writes|bobr|SECRET") == {}
    con = connect(path, read_only=True)
    try:
        assert con.execute("select redacted from meta.publication").fetchall() == [(True,)]
    finally:
        con.close()


def test_pseudonyms_are_stable_keyed_and_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EBOOK_ANALYTICS_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("EBOOK_ANALYTICS_HOME", str(tmp_path / "home"))
    pseudonym._key.cache_clear()
    try:
        first = pseudonym.pseudonymize(ALICE)
        key_file = tmp_path / "home" / "pseudonym.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text()) == 64
        pseudonym._key.cache_clear()  # a restart reads the same key back
        assert pseudonym.pseudonymize(ALICE) == first
        assert re.fullmatch(r"u_[0-9a-f]{12}", first)
        assert pseudonym.pseudonymize(BOB) != first
        assert pseudonym.pseudonymize(None) is None

        # With a configured key: exactly HMAC-SHA256("k3y", id), worked out independently with openssl:
        # printf %s 00000000-0000-0000-0000-0000000000a1 | openssl dgst -sha256 -hmac k3y
        monkeypatch.setenv("EBOOK_ANALYTICS_PSEUDONYM_KEY", "k3y")
        pseudonym._key.cache_clear()
        assert pseudonym.pseudonymize(ALICE) == "u_7a6165f14160"
        assert pseudonym.pseudonymize(ALICE) != first
    finally:
        pseudonym._key.cache_clear()


# --- the rendered dashboards --------------------------------------------------------------------------------------


@pytest.fixture
def app_env(published: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """This process reads the published warehouse (AppTest runs the app in-process); accounts are per test."""
    env = {**published, "EBOOK_ANALYTICS_USERS_FILE": str(tmp_path / "users.json")}
    use_settings(monkeypatch, env)
    return env


def _signed_in(role: str) -> AppTest:
    email = f"{role}@example.com"
    add_user(email, role, PASSWORD)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="sign_in_email").input(email)
    at.text_input(key="sign_in_password").input(PASSWORD)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def _texts(node: object) -> Iterator[str]:
    """Everything an element tree sends to the browser, as text (table cells and chart data included)."""
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield str(proto)
    for child in getattr(node, "children", {}).values():
        yield from _texts(child)


def _open(at: AppTest, page: str, query: dict[str, object] | None = None) -> str:
    """Run `page` in this session (with these URL query parameters); returns all it rendered, as text."""
    at.switch_page(f"views/{page}.py")
    at.query_params.clear()
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, (page, [exception.message for exception in at.exception])
    return "\n".join(_texts(at.main)) + "\n".join(_texts(at.sidebar))


@pytest.mark.parametrize("role", ROLES)
def test_people_are_named_only_for_finance_and_admin(app_env: dict[str, str], role: str) -> None:
    at = _signed_in(role)
    rendered = {page: _open(at, page).replace(f"{role}@example.com", "") for page in allowed_pages(role)}
    shown = "\n".join(rendered.values())
    if sees_personal_data(role):
        assert "Alicia Authorsson" in rendered["revenue_share"]
        assert "alice.author@example.com" in rendered["revenue_share"]
    else:
        assert EMAIL.findall(shown) == [] and re.findall("Alicia|Authorsson", shown) == []
        assert pseudonym.pseudonymize(ALICE) in shown  # people still appear, under their key
    assert ALICE not in shown and "SECRET" not in shown


HOSTILE = ["'; drop table marts.usage_daily; --", "x" * 10_000, "2024-13-45' or '1'='1\" $start"]
FILTER_KEYS = ("provider", "model", "tier", "plan", "resource", "genre", "month", "run")


def _file_checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hostile_links_change_nothing(app_env: dict[str, str]) -> None:
    warehouse, source_url = Path(app_env["EBOOK_ANALYTICS_WAREHOUSE"]), app_env["EBOOK_ANALYTICS_SOURCE_URL"]
    source_before, warehouse_before = table_checksums(source_url), _file_checksum(warehouse)

    at = _signed_in("admin")
    for value in HOSTILE:
        for page in allowed_pages("admin"):
            _open(at, page, {"dates": [value, value], **{key: value for key in FILTER_KEYS}})
    # A link cannot sign anyone in or lend them a role.
    stranger = AppTest.from_file(APP, default_timeout=60)
    stranger.query_params.update(auth_email="admin@example.com", role="admin", page="revenue_share")
    stranger.run()
    assert [title.value for title in stranger.title] == ["Ebook analytics"] and not stranger.metric

    assert _file_checksum(warehouse) == warehouse_before
    assert table_checksums(source_url) == source_before
