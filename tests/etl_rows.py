"""A small hand-made platform (3 users, 2 projects, 2 chapters, 3 AI generations, ...) for the ETL tests.

Every id is fixed so tests can name rows; every secret column holds a value containing `secret` so a test can
prove none of them reaches the warehouse. Expected numbers in the tests are worked out from these rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from pipelines import warehouse

T = TypeVar("T")

U1, U2, U3 = (f"a0000000-0000-0000-0000-00000000000{n}" for n in (1, 2, 3))
P1, P2 = "b0000000-0000-0000-0000-000000000001", "b0000000-0000-0000-0000-000000000002"
C1, C2 = "c0000000-0000-0000-0000-000000000001", "c0000000-0000-0000-0000-000000000002"
G1, G2, G3, G4 = (f"d0000000-0000-0000-0000-00000000000{n}" for n in (1, 2, 3, 4))
RS1 = "e0000000-0000-0000-0000-000000000001"
E1, E2 = "f0000000-0000-0000-0000-000000000001", "f0000000-0000-0000-0000-000000000002"
S1 = "15000000-0000-0000-0000-000000000001"
PRO = "40000000-0000-0000-0000-000000000001"  # the one plan
SUB1 = "41000000-0000-0000-0000-000000000001"  # U1's subscription, on Pro
M1 = "30000000-0000-0000-0000-000000000001"
C1_TEXT = "The cat sat on the mat. It was happy."
C2_TEXT = "Dogs bark.\n\nBirds sing loudly!"

PLATFORM_SQL = f"""
insert into users.users (id, email, username, password_hash, first_name, last_name, created_at) values
  ('{U1}', 'alice@example.com', 'alice', 'secret-hash-1', 'Alice', 'Liddell', '2024-01-05 10:00:00+00'),
  ('{U2}', 'bob@example.com', 'bob', 'secret-hash-2', 'Bob', 'Builder', '2024-02-01 23:30:00-05'),
  ('{U3}', 'carol@example.com', 'carol', null, 'Carol', null, '2024-03-01 08:00:00+00');
insert into users.user_auth_methods (user_id, method_type, external_id, is_primary)
  values ('{U1}', 'google', 'secret-external-1', true);
insert into users.user_sessions (id, user_id, session_token, ip_address, user_agent, expires_at, created_at)
  values ('{S1}', '{U1}', 'secret-token-1', '10.9.8.7', 'secret-agent', '2024-03-03 00:00:00+00',
          '2024-03-02 00:00:00+00');
insert into users.user_organizations (id, name, owner_id)
  values ('20000000-0000-0000-0000-000000000001', 'Guild', '{U1}');
insert into users.organization_members (organization_id, user_id, role)
  values ('20000000-0000-0000-0000-000000000001', '{U2}', 'editor');
insert into content.projects (id, title, owner_id, status, created_at) values
  ('{P1}', 'Dragons', '{U1}', 'in_progress', '2024-03-01 23:30:00-05'),
  ('{P2}', 'Empty', '{U2}', 'draft', '2024-03-02 12:00:00+00');
insert into content.project_collaborators (project_id, user_id, role, invited_at, accepted_at) values
  ('{P1}', '{U2}', 'editor', '2024-03-02 00:00:00+00', '2024-03-02 01:00:00+00'),
  ('{P1}', '{U3}', 'viewer', '2024-03-02 00:00:00+00', null);
insert into content.chapters (id, project_id, position, content, word_count, ai_generated, status) values
  ('{C1}', '{P1}', 1, '{C1_TEXT}', 1000, true, 'completed'),
  ('{C2}', '{P1}', 2, E'{C2_TEXT.replace(chr(10), chr(92) + "n")}', 500, false, 'draft');
insert into content.content_versions (chapter_id, version_number, content, changed_by) values
  ('{C1}', 1, 'secret draft', '{U1}'), ('{C1}', 2, 'secret draft 2', '{U1}'), ('{C2}', 1, 'secret', '{U1}');
insert into ai_processing.ai_providers (id, name, api_endpoint, configuration, cost_per_token)
  values ('31000000-0000-0000-0000-000000000001', 'openai', 'https://secret.example/api', '{{"key": "secret"}}',
          0.00000200);
insert into ai_processing.ai_models (id, provider_id, name, version, cost_per_input_token, cost_per_output_token)
  values ('{M1}', '31000000-0000-0000-0000-000000000001', 'gpt-4o', '1', 0.00000250, 0.00001000);
insert into ai_processing.ai_generations
  (id, user_id, project_id, chapter_id, model_id, prompt, response, tokens_used, cost, processing_time_ms, status,
   created_at, completed_at) values
  ('{G1}', '{U1}', '{P1}', '{C1}', '{M1}', 'secret prompt', 'secret response', 1200, 0.012345, 90000,
   'completed', '2024-03-01 23:30:00-05', '2024-03-01 23:31:30-05'),
  ('{G2}', '{U1}', '{P1}', null, '{M1}', 'secret prompt', null, null, null, 45000, 'pending',
   '2024-03-02 10:00:00+00', null),
  ('{G3}', '{U2}', '{P2}', null, '{M1}', 'secret prompt', null, null, null, null, 'failed',
   '2024-03-02 11:00:00+00', null);
insert into ai_processing.prompt_templates (name, user_prompt_template, created_by)
  values ('Opening', 'secret template', '{U1}');
insert into billing.subscription_plans (id, name, price, billing_cycle)
  values ('{PRO}', 'Pro', 9.99, 'monthly');
insert into billing.user_subscriptions
  (id, user_id, plan_id, stripe_subscription_id, current_period_start, current_period_end, amount) values
  ('{SUB1}', '{U1}', '{PRO}', 'secret-sub-1',
   '2024-03-01 00:00:00+00', '2024-04-01 00:00:00+00', 9.99);
insert into billing.usage_records
  (user_id, subscription_id, resource_type, quantity, unit_cost, total_cost, project_id, ai_generation_id,
   usage_date) values
  ('{U1}', '{SUB1}', 'ai_tokens', 1200, 0.000010, 0.01, '{P1}', '{G1}',
   '2024-03-02');
insert into billing.revenue_shares
  (id, user_id, project_id, book_sales, platform_commission_rate, user_revenue, platform_revenue, payout_status,
   payout_method, revenue_period_start, revenue_period_end) values
  ('{RS1}', '{U1}', '{P1}', 100.00, 0.10, 90.00, 10.00, 'pending', '{{"iban": "secret-iban"}}',
   '2024-02-01', '2024-02-29');
insert into analytics.user_events (id, user_id, session_id, event_type, ip_address, user_agent, timestamp) values
  ('{E1}', '{U1}', '{S1}', 'login', '10.9.8.7', 'secret-agent', '2024-03-01 23:30:00-05'),
  ('{E2}', '{U2}', null, 'page_view', null, null, '2024-03-02 10:00:00+00');
"""

STAGED_ROWS = {
    "users": 3,
    "user_pii": 3,
    "user_auth_methods": 1,
    "user_sessions": 1,
    "user_organizations": 1,
    "organization_members": 1,
    "projects": 2,
    "project_collaborators": 2,
    "chapters": 2,
    "content_versions": 3,
    "ai_providers": 1,
    "ai_models": 1,
    "ai_generations": 3,
    "prompt_templates": 1,
    "subscription_plans": 1,
    "user_subscriptions": 1,
    "usage_records": 1,
    "revenue_shares": 1,
    "user_events": 2,
}


def insert_platform(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(PLATFORM_SQL)


def execute(url: str, statement: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(statement)


def query_warehouse(path: Path, statement: str, params: dict[str, Any] | None = None) -> list[tuple]:
    with warehouse.connect(path, read_only=True) as con:  # the publication, UTC days, as every reader opens it
        return con.execute(statement, params or {}).fetchall()


COLUMNS = (
    "select table_schema, table_name, column_name from information_schema.columns "
    "where table_schema not in ('information_schema', 'pg_catalog') order by all"
)


def warehouse_columns(path: Path) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every table in the publication at `path`."""
    return query_warehouse(path, COLUMNS)


def values_matching(path: Path, pattern: str) -> dict[str, list[str]]:
    """Every column (any type, cast to text) of the publication at `path` holding a value that matches the regex
    (anywhere in it): 'schema.table.column' -> its distinct matching values, sorted.

    One query over every table (each unpivoted to column name and text value), not one per column or table: a
    warehouse has hundreds of columns, and each query on the lake pays its catalog look-ups."""
    with warehouse.connect(path, read_only=True) as con:
        tables: dict[tuple[str, str], list[str]] = {}
        for schema, table, column in con.execute(COLUMNS).fetchall():
            tables.setdefault((schema, table), []).append(column)
        # Identifiers come from the warehouse's own catalog; quoting keeps odd names harmless.
        unpivoted = " union all ".join(
            f"select '{schema}.{table}.' || name as name, value from (unpivot (select "
            + ", ".join(f'"{column}"::varchar as "{column}"' for column in columns)
            + f' from "{schema}"."{table}") on '
            + ", ".join(f'"{column}"' for column in columns)
            + " into name name value value)"
            for (schema, table), columns in tables.items()
        )
        rows = con.execute(
            f"select distinct name, value from ({unpivoted}) where regexp_matches(value, $pattern) order by all",
            {"pattern": pattern},
        ).fetchall()
    found: dict[str, list[str]] = {}
    for name, value in rows:
        found.setdefault(name, []).append(value)
    return found


def publish_then_change(
    url: str, directory: Path, change: Callable[[str], None], read_first: Callable[[Path], T]
) -> tuple[dict[str, str], Path, T]:
    """`etl run --full` of the rows already in `url`, `read_first` of that warehouse, then `change(url)` and an
    incremental run: the CLI environment, the warehouse and what `read_first` read."""
    from tests.conftest import cli_environment, run_cli  # conftest imports this module: not at the top

    env = cli_environment(directory, url)
    path = Path(env["EBOOK_ANALYTICS_WAREHOUSE"])
    run_cli("etl", "run", "--full", env=env)
    first = read_first(path)
    change(url)
    run_cli("etl", "run", env=env)
    return env, path, first


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
