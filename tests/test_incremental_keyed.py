"""Refresh by key (docs/etl.md, "Incremental marts"): `version_facts` refreshes only the chapters its changed inputs
reach, its changed rows are exactly the versions whose facts moved, the marts built from it refresh only the days
those rows reach, `writing_progress_daily` only the projects the changes reach, and every table equals a `--full`
run's."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.fingerprints import fingerprint
from pipelines.publish.lake import WORK_FILE, stored_fingerprints
from tests.conftest import run_cli
from tests.etl_rows import M1, P1, P2, U1, execute, insert_platform, query_warehouse
from tests.test_incremental_marts import _full_run_beside, _last_run, _refreshed, _unequal_tables

# Two chapters of our own beside the platform's (whose versions are dated by the database's clock): C3 in P1
# (mystery), versions V1 manual 100 words, V2 an AI generation growing it to 250, V3 manual to 300; C4 in P2
# (fantasy), V4 50 words, V5 an AI revision to 80. G10, completed on C3 the day before V2, is V2's generation.
C3, C4 = "c0000000-0000-0000-0000-000000000003", "c0000000-0000-0000-0000-000000000004"
VERSION = "c1000000-0000-0000-0000-0000000000{:02d}"
V1, V2, V3, V4, V5, V6 = (VERSION.format(n) for n in range(1, 7))
G10, G11 = "d1000000-0000-0000-0000-000000000010", "d1000000-0000-0000-0000-000000000011"
VERSIONS = "insert into content.content_versions (id, chapter_id, version_number, content, changed_by, change_type, "
VERSIONS += "created_at, word_count) values "
GENERATIONS = "insert into ai_processing.ai_generations "
GENERATIONS += "(id, user_id, project_id, chapter_id, model_id, prompt, status, created_at, completed_at) values "
CHAPTERS_SQL = f"""
update content.projects set genre = 'mystery' where id = '{P1}';
update content.projects set genre = 'fantasy' where id = '{P2}';
insert into content.chapters (id, project_id, position) values ('{C3}', '{P1}', 3), ('{C4}', '{P2}', 1);
{VERSIONS}
  ('{V1}', '{C3}', 1, 'x', '{U1}', 'manual', '2024-01-10 10:00:00+00', 100),
  ('{V2}', '{C3}', 2, 'x', '{U1}', 'ai_generation', '2024-01-12 10:00:00+00', 250),
  ('{V3}', '{C3}', 3, 'x', '{U1}', 'manual', '2024-01-15 10:00:00+00', 300),
  ('{V4}', '{C4}', 1, 'x', '{U1}', 'manual', '2024-02-01 10:00:00+00', 50),
  ('{V5}', '{C4}', 2, 'x', '{U1}', 'ai_revision', '2024-02-03 10:00:00+00', 80);
{GENERATIONS}
  ('{G10}', '{U1}', '{P1}', '{C3}', '{M1}', 'p', 'completed', '2024-01-11 08:00:00+00', '2024-01-11 08:05:00+00');
"""
# The facts a test looks at: (version, day, project, genre, word_count, words_added, ai_words, generation).
FACTS = "version_id::varchar, day::varchar, project_id::varchar, genre, word_count, words_added, ai_words, "
FACTS += "generation_id::varchar"


def _facts(live: Path) -> set[tuple]:
    return set(query_warehouse(live, f"select {FACTS} from marts.version_facts"))


def _stale_fingerprints(live: Path) -> dict[tuple[str, str], tuple]:
    """The tables whose fingerprint kept as published differs from one taken now (kept, actual). An incremental run
    keeps the published ones of the tables its change sets leave untouched without scanning them: a table changed
    outside the change sets would show here."""
    con = duckdb.connect(str(live.parent / WORK_FILE), read_only=True)
    try:
        kept = stored_fingerprints(con)
        assert len(kept) > 60  # every published table
        return {table: (known, now) for table, known in kept.items() if (now := fingerprint(con, *table)) != known}
    finally:
        con.close()


def test_version_facts_refresh_by_chapter_and_equal_full(
    source_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "EBOOK_ANALYTICS_CAPTURE": "logical"}
    insert_platform(source_url)
    execute(source_url, CHAPTERS_SQL)
    run_cli("etl", "run", env=env)
    live = Path(env["EBOOK_ANALYTICS_WAREHOUSE"])
    assert _refreshed(_last_run(env), "version_facts") == {"mode": "built"}

    # Each change, then the rows of version_facts it must change: (old rows, new rows). One chapter each time.
    steps = [
        # (a) a new version on C4: 40 words over V5; nothing else on C4 moves
        (
            "new_version",
            f"{VERSIONS} ('{V6}', '{C4}', 3, 'x', '{U1}', 'manual', '2024-02-05 10:00:00+00', 120)",
            set(),
            {(V6, "2024-02-05", P2, "fantasy", 120, 40, 0, None)},
        ),
        # (b) V1, months old, grows to 150 in place: V2 (AI) now added 100, not 150
        (
            "updated_version",
            f"update content.content_versions set word_count = 150 where id = '{V1}'",
            {
                (V1, "2024-01-10", P1, "mystery", 100, 100, 0, None),
                (V2, "2024-01-12", P1, "mystery", 250, 150, 150, G10),
            },
            {
                (V1, "2024-01-10", P1, "mystery", 150, 150, 0, None),
                (V2, "2024-01-12", P1, "mystery", 250, 100, 100, G10),
            },
        ),
        # (c) C3 moves to P2: its three versions change project and genre
        (
            "moved_chapter",
            f"update content.chapters set project_id = '{P2}' where id = '{C3}'",
            {
                (V1, "2024-01-10", P1, "mystery", 150, 150, 0, None),
                (V2, "2024-01-12", P1, "mystery", 250, 100, 100, G10),
                (V3, "2024-01-15", P1, "mystery", 300, 50, 0, None),
            },
            {
                (V1, "2024-01-10", P2, "fantasy", 150, 150, 0, None),
                (V2, "2024-01-12", P2, "fantasy", 250, 100, 100, G10),
                (V3, "2024-01-15", P2, "fantasy", 300, 50, 0, None),
            },
        ),
        # (d) V5, between V4 and V6, deleted: V6 now grew 70 over V4
        (
            "deleted_version",
            f"delete from content.content_versions where id = '{V5}'",
            {(V5, "2024-02-03", P2, "fantasy", 80, 30, 30, None), (V6, "2024-02-05", P2, "fantasy", 120, 40, 0, None)},
            {(V6, "2024-02-05", P2, "fantasy", 120, 70, 0, None)},
        ),
        # (e) G11 on C3, completed after G10 and before V2, arrives late: V2 is now its work
        (
            "late_generation",
            f"{GENERATIONS} ('{G11}', '{U1}', '{P1}', '{C3}', '{M1}', 'p', 'completed', '2024-01-11 12:00:00+00', "
            "'2024-01-11 20:00:00+00')",
            {(V2, "2024-01-12", P2, "fantasy", 250, 100, 100, G10)},
            {(V2, "2024-01-12", P2, "fantasy", 250, 100, 100, G11)},
        ),
        # (f) C4 edited in place, its project kept: no version fact moves (the mart reads no other chapter column)
        ("chapter_edited", f"update content.chapters set word_count = 999 where id = '{C4}'", set(), set()),
    ]
    # How user_writing_days and ai_words_daily refresh from version_facts' change set: the days of the versions whose
    # day or author (AI words) changed; a genre, a project or a generation does not reach them.
    unreached = {"mode": "skipped", "reason": "no period reached"}
    downstream: dict[str, tuple[dict, dict]] = {
        "new_version": ({"mode": "day", "periods": ["2024-02-05"]}, {"mode": "day", "periods": ["2024-02-05"]}),
        "updated_version": (unreached, {"mode": "day", "periods": ["2024-01-12"]}),  # V2's AI words
        "moved_chapter": (unreached, unreached),
        "deleted_version": ({"mode": "day", "periods": ["2024-02-03"]}, {"mode": "day", "periods": ["2024-02-03"]}),
        "late_generation": (unreached, unreached),
        "chapter_edited": ({"mode": "skipped"}, {"mode": "skipped"}),  # version_facts did not change
    }
    # A mart rebuilt whole (unit_economics_daily) only when a column it reads changed: of chapters it reads the
    # project alone, so a moved chapter rebuilds it and an edited one does not; a new generation does. Marts by key
    # map the edited chapter to no key.
    untouched = {"mode": "skipped", "reason": "no column it reads changed"}
    economics = {"moved_chapter": {"mode": "whole"}, "late_generation": {"mode": "whole"}, "chapter_edited": untouched}
    no_key = {"mode": "skipped", "reason": "no key reached"}
    facts = {"chapter_edited": no_key}
    # writing_progress_daily by project: a version reaches its chapter's project, a moved chapter both projects; a
    # generation does not reach the mart at all
    projects_reached = {"new_version": 1, "updated_version": 1, "moved_chapter": 2, "deleted_version": 1}
    unmoved = {"late_generation": {"mode": "skipped"}, "chapter_edited": no_key}
    for name, change, old, new in steps:
        before = _facts(live)
        execute(source_url, change)
        run_cli("etl", "run", env=env)
        run = _last_run(env)
        assert (run["mode"], run["status"]) == ("incremental", "published"), name
        assert _refreshed(run, "version_facts") == facts.get(name, {"mode": "key", "keys": 1}), name
        assert _refreshed(run, "unit_economics_daily") == economics.get(name, {"mode": "skipped"}), name
        writing_days, ai_words = downstream[name]
        assert _refreshed(run, "user_writing_days") == writing_days, name
        assert _refreshed(run, "ai_words_daily") == ai_words, name
        progress = {"mode": "key", "keys": projects_reached[name]} if name in projects_reached else unmoved[name]
        assert _refreshed(run, "writing_progress_daily") == progress, name
        after = _facts(live)
        assert (before - after, after - before) == (old, new), name
        # its difference is its change set: the publication writes it from that, not compared whole
        assert ("marts.version_facts" in run["publication"]["by_change_set"]) == (name not in facts), name
        assert _stale_fingerprints(live) == {}, name
        assert _unequal_tables(live, _full_run_beside(live, env, tmp_path / name)) == [], name
