"""Hand-made platform histories for the AI, engagement and writing metrics (issue 11), published by the real ETL.

Every number the tests in tests/test_metrics_marts.py expect is worked out from these rows. Monday 2024-03-04 and
Tuesday 2024-03-05 hold everything; times are UTC unless written with an offset.
"""

from __future__ import annotations

import uuid

import psycopg

from tests.marts_dataset import uid

AMY, BEN, CID = (uid("user", n) for n in (11, 12, 13))  # Cid is touched only by billing events
PROJECT = uid("project", 11)
CH1, CH2 = uid("chapter", 11), uid("chapter", 12)
MODEL_A, MODEL_B = uid("model", 11), uid("model", 12)
SESSION_AMY, SESSION_BEN = (uuid.UUID(f"70000000-0000-0000-0000-0000000000{n}") for n in (11, 12))

# (id, tier, created_at)
USERS = [
    (AMY, "free", "2024-03-01 10:00:00+00"),
    (BEN, "premium", "2024-03-03 23:30:00-05"),  # 2024-03-04 04:30 UTC
    (CID, "basic", "2024-03-04 08:00:00+00"),
]

# (n, user, model, chapter, status, tokens, cost, processing_time_ms, quality_rating, created_at)
GENERATIONS = [
    # Monday: model A three completed at 1,000 ms, model B one at 9,000 ms -> exact p95 7,800 ms
    (1, AMY, MODEL_A, CH1, "completed", 100, "0.010000", 1000, 5, "2024-03-04 09:00:00+00"),
    (2, AMY, MODEL_A, CH1, "completed", 100, "0.010000", 1000, None, "2024-03-04 10:00:00+00"),
    (3, AMY, MODEL_A, None, "completed", 100, "0.010000", 1000, None, "2024-03-04 11:00:00+00"),
    (4, BEN, MODEL_B, CH2, "completed", 900, "0.090000", 9000, None, "2024-03-04 12:00:00+00"),
    # Tuesday: three ratings of 1 after Monday's single 5 -> exact mean 2.0
    (5, AMY, MODEL_A, CH1, "completed", 200, "0.020000", 2000, 1, "2024-03-05 09:00:00+00"),
    (6, AMY, MODEL_A, None, "completed", 200, "0.020000", 2000, 1, "2024-03-05 10:00:00+00"),
    (7, BEN, MODEL_B, None, "completed", 200, "0.020000", 2000, 1, "2024-03-05 11:00:00+00"),
    (8, AMY, MODEL_A, None, "failed", None, None, 500, None, "2024-03-05 12:00:00+00"),
    (9, AMY, MODEL_B, None, "pending", None, None, None, None, "2024-03-05 13:00:00+00"),
]

# (n, chapter, version_number, word_count, changed_by, change_type, created_at): word_count is the chapter's length
VERSIONS = [
    (1, CH1, 1, 1000, AMY, "manual", "2024-03-04 08:00:00+00"),
    (2, CH1, 2, 1300, AMY, "ai_generation", "2024-03-04 09:00:01+00"),  # generation 1 (A) landed: +300
    (3, CH1, 3, 1250, BEN, "collaboration", "2024-03-04 20:00:00+00"),  # Ben, a collaborator, cuts 50
    (4, CH1, 4, 1500, AMY, "ai_revision", "2024-03-05 09:00:02+00"),  # generation 5 (A) landed: +250
    (5, CH2, 1, 400, BEN, "ai_generation", "2024-03-04 12:00:09+00"),  # generation 4 (B) landed: +400
]

# (n, user or None, session or None, event_type, event_category, timestamp)
EVENTS = [
    (1, AMY, SESSION_AMY, "login", "auth", "2024-03-04 10:00:00+00"),
    (2, BEN, SESSION_BEN, "page_view", "navigation", "2024-03-04 23:30:00-05"),  # Tuesday UTC
    (3, CID, None, "payment_failed", "billing", "2024-03-04 12:00:00+00"),
    (4, CID, None, "subscription_cancel", "billing", "2024-03-05 12:00:00+00"),
    (5, None, None, "page_view", "navigation", "2024-03-04 13:00:00+00"),
]


def insert_metrics_platform(url: str) -> None:
    """Write the dataset into a freshly migrated platform database."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into users.users (id, email, tier, created_at) values (%s, %s || '@example.com', %s, %s)",
            [(user, str(user)[:8] + str(n), tier, at) for n, (user, tier, at) in enumerate(USERS)],
        )
        cur.executemany(
            "insert into users.user_sessions (id, user_id, session_token, created_at, expires_at)"
            " values (%s, %s, %s, '2024-03-04 00:00:00+00', '2024-03-06 00:00:00+00')",
            [(SESSION_AMY, AMY, "token-amy"), (SESSION_BEN, BEN, "token-ben")],
        )
        cur.executemany(
            "insert into ai_processing.ai_providers (id, name) values (%s, %s)",
            [(uid("provider", 11), "openai"), (uid("provider", 12), "anthropic")],
        )
        cur.executemany(
            "insert into ai_processing.ai_models (id, provider_id, name, version) values (%s, %s, %s, '1')",
            [(MODEL_A, uid("provider", 11), "model-a"), (MODEL_B, uid("provider", 12), "model-b")],
        )
        cur.execute(
            "insert into content.projects (id, owner_id, title, genre, status, created_at)"
            " values (%s, %s, 'Tides', 'fantasy', 'in_progress', '2024-03-01 12:00:00+00')",
            (PROJECT, AMY),
        )
        cur.executemany(
            "insert into content.chapters (id, project_id, position, status, created_at)"
            " values (%s, %s, %s, %s, '2024-03-04 08:00:00+00')",
            [(CH1, PROJECT, 1, "completed"), (CH2, PROJECT, 2, "draft")],
        )
        cur.executemany(
            "insert into ai_processing.ai_generations (id, user_id, project_id, model_id, chapter_id, prompt, status,"
            " tokens_used, cost, processing_time_ms, quality_rating, created_at)"
            " values (%s, %s, %s, %s, %s, 'write', %s, %s, %s, %s, %s, %s)",
            [(uid("generation", 10 + n), user, PROJECT, *rest) for n, user, *rest in GENERATIONS],
        )
        cur.execute(
            "update ai_processing.ai_generations set completed_at = created_at + processing_time_ms * interval '1 ms'"
            " where status = 'completed'"
        )
        cur.executemany(
            "insert into content.content_versions (id, chapter_id, version_number, word_count, changed_by, change_type,"
            " created_at, content) values (%s, %s, %s, %s, %s, %s, %s, 'text')",
            [(uid("version", 10 + n), *rest) for n, *rest in VERSIONS],
        )
        cur.executemany(
            "insert into analytics.user_events (id, user_id, session_id, event_type, event_category, timestamp)"
            " values (%s, %s, %s, %s, %s, %s)",
            [(uid("event", 10 + n), *rest) for n, *rest in EVENTS],
        )


def change_after_first_load(url: str) -> None:
    """Between two runs: Amy upgrades to premium, chapter 1 (already completed) is revised on Wednesday, and
    chapter 2 is marked completed."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("update users.users set tier = 'premium' where id = %s", (AMY,))
        cur.execute(
            "insert into content.content_versions (id, chapter_id, version_number, word_count, changed_by, change_type,"
            " created_at, content) values (%s, %s, 5, 1600, %s, 'manual', '2024-03-06 09:00:00+00', 'text')",
            (uid("version", 16), CH1, AMY),
        )
        cur.execute("update content.chapters set status = 'completed', updated_at = now() where id = %s", (CH2,))
        cur.execute("update content.chapters set updated_at = '2024-03-06 09:00:00+00' where id = %s", (CH1,))
