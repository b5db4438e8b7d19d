"""Refresh by key (docs/etl.md, "Incremental marts"): `version_facts` refreshes only the chapters its changed inputs
reach, its changed rows are exactly the versions whose facts moved, the marts built from it refresh only the days
those rows reach, `writing_progress_daily` only the projects the changes reach, and every table equals a `--full`
run's; and so do `chapter_completions` (by chapter), `user_milestones` (by user) and `unit_economics_books` (by
book)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.publish.lake import WORK_FILE, stored_fingerprints
from tests.conftest import full_run_differences, last_run, run_cli
from tests.etl_rows import C1, G3, M1, P1, P2, U1, U2, U3, execute, insert_platform, query_warehouse
from tests.test_incremental_marts import _refreshed

# Two chapters of our own beside the platform's (whose versions are dated by the database's clock): C3 in P1
# (mystery), versions V1 manual 100 words, V2 an AI generation growing it to 250, V3 manual to 300; C4 in P2
# (fantasy), V4 50 words, V5 an AI revision to 80. G10, completed on C3 the day before V2, is V2's generation. Both
# chapters are completed at the first load (dated by their last version: C3 2024-01-15, C4 2024-02-03) and carry
# their own created_at and word count (300, 80), for the marts by chapter, user and book.
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
insert into content.chapters (id, project_id, position, status, word_count, created_at) values
  ('{C3}', '{P1}', 3, 'completed', 300, '2024-01-09 09:00:00+00'),
  ('{C4}', '{P2}', 1, 'completed', 80, '2024-01-31 09:00:00+00');
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
# Of the marts by chapter, user and book: (chapter, day, project, genre); (user, first chapter, first generation,
# first completed chapter) as UTC text; (book, title, generations, words written).
COMPLETIONS = "select chapter_id::varchar, day::varchar, project_id::varchar, genre from marts.chapter_completions"
MILESTONES = "select user_id::varchar, first_chapter_at::varchar, first_generation_at::varchar, "
MILESTONES += "first_completed_chapter_at::varchar from marts.user_milestones"
BOOKS = "select project_id::varchar, project_title, generations, words_written from marts.unit_economics_books"


def _facts(live: Path) -> set[tuple]:
    return set(query_warehouse(live, f"select {FACTS} from marts.version_facts"))


def _rows(live: Path) -> dict[str, set[tuple]]:
    return {
        name: set(query_warehouse(live, sql))
        for name, sql in (("completions", COMPLETIONS), ("milestones", MILESTONES), ("books", BOOKS))
    }


def test_version_facts_refresh_by_chapter_and_equal_full(
    source_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "EBOOK_ANALYTICS_CAPTURE": "logical"}
    insert_platform(source_url)
    execute(source_url, CHAPTERS_SQL)
    run_cli("etl", "run", env=env)
    live = Path(env["EBOOK_ANALYTICS_WAREHOUSE"])
    assert _refreshed(last_run(env), "version_facts") == {"mode": "built"}

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
        # (d) V5, between V4 and V6, deleted: V6 now grew 70 over V4 (and user U3 deleted: no version fact moves)
        (
            "deleted_version",
            f"delete from content.content_versions where id = '{V5}'; delete from users.users where id = '{U3}'",
            {(V5, "2024-02-03", P2, "fantasy", 80, 30, 30, None), (V6, "2024-02-05", P2, "fantasy", 120, 40, 0, None)},
            {(V6, "2024-02-05", P2, "fantasy", 120, 70, 0, None)},
        ),
        # (e) G11 on C3, completed after G10 and before V2, arrives late: V2 is now its work (and G3, failed, on no
        # chapter, deleted: no version fact moves)
        (
            "late_generation",
            f"{GENERATIONS} ('{G11}', '{U1}', '{P1}', '{C3}', '{M1}', 'p', 'completed', '2024-01-11 07:00:00+00', "
            f"'2024-01-11 20:00:00+00'); delete from ai_processing.ai_generations where id = '{G3}'",
            {(V2, "2024-01-12", P2, "fantasy", 250, 100, 100, G10)},
            {(V2, "2024-01-12", P2, "fantasy", 250, 100, 100, G11)},
        ),
        # (f) C1 edited in place, its project kept: no version fact moves (the mart reads no other chapter column)
        (
            "chapter_edited",
            "update content.chapters set word_count = 999, updated_at = updated_at + interval '1 second' "
            f"where id = '{C1}'",
            set(),
            set(),
        ),
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
    # unit_economics_daily by day: a moved chapter reaches the days of its generations that name no book of their
    # own (C3's all name P1: none), an edited one nothing; a late generation its day (G11, 2024-01-11) and G3's
    # (2024-03-02, P2's only fact, which goes). Marts by key map the edited chapter to no key.
    economics = {
        "moved_chapter": unreached,
        "late_generation": {"mode": "day", "periods": ["2024-01-11", "2024-03-02"]},
        "chapter_edited": unreached,
    }
    no_key = {"mode": "skipped", "reason": "no key reached"}
    facts = {"chapter_edited": no_key}
    # writing_progress_daily by project: a version reaches its chapter's project, a moved chapter both projects; a
    # generation does not reach the mart at all
    projects_reached = {"new_version": 1, "updated_version": 1, "moved_chapter": 2, "deleted_version": 1}
    unmoved = {"late_generation": {"mode": "skipped"}, "chapter_edited": no_key}
    # The marts by chapter, user and book (worked out by hand): how each step refreshes them and the rows it changes,
    # (old, new). C1 (P1, completed at the first load) was created and saved at the source's clock (`saved`): its
    # last save is its completion moment.
    saved, edited = query_warehouse(
        live,
        "select created_at::varchar, (updated_at + interval 1 second)::varchar from staging.chapters "
        f"where id = '{C1}'",
    )[0]
    assert query_warehouse(live, f"select updated_at::varchar from staging.chapters where id = '{C1}'") == [(saved,)]
    u1 = (U1, "2024-01-09 09:00:00+00", "2024-01-11 08:00:00+00", "2024-01-15 10:00:00+00")  # C3 first, G10
    u2 = (U2, "2024-01-31 09:00:00+00", None, "2024-02-03 10:00:00+00")  # C4; G3 failed
    u1_moved, u2_moved = (U1, saved, u1[2], saved), (U2, u1[1], None, u1[3])  # C3 and its completion go to U2
    u1_late = (U1, saved, "2024-01-11 07:00:00+00", saved)  # G11 created before G10
    key = [{"mode": "key", "keys": n} for n in range(3)]
    nothing: tuple[set, set] = (set(), set())
    reached: dict[str, dict[str, tuple[dict, tuple[set, set]]]] = {
        # V6 (2024-02-05) is after C4's completion day: no save of its completion moment
        "new_version": {
            "completions": ({"mode": "skipped"}, nothing),
            "milestones": (no_key, nothing),
            "books": ({"mode": "skipped"}, nothing),
        },
        # V1 edited in place: same chapter, same moment
        "updated_version": {
            "completions": ({"mode": "skipped"}, nothing),
            "milestones": (no_key, nothing),
            "books": ({"mode": "skipped"}, nothing),
        },
        # C3 (completed, 300 words) moves from U1's P1 to U2's P2: its completion, both owners; both books (their
        # words)
        "moved_chapter": {
            "completions": (key[1], ({(C3, "2024-01-15", P1, "mystery")}, {(C3, "2024-01-15", P2, "fantasy")})),
            "milestones": (key[2], ({u1, u2}, {u1_moved, u2_moved})),
            "books": (
                key[2],
                ({(P1, "Dragons", 3, 1800), (P2, "Empty", 1, 80)}, {(P1, "Dragons", 3, 1500), (P2, "Empty", 1, 380)}),
            ),
        },
        # V5 was C4's last save on its completion day (U2: C4's moment moves, U2's first stays C3's); U3 deleted
        "deleted_version": {
            "completions": ({"mode": "skipped"}, nothing),
            "milestones": (key[2], ({(U3, None, None, None)}, set())),
            "books": ({"mode": "skipped"}, nothing),
        },
        # G11 completed: U1's first generation; G3 (failed) reaches no user, but P2's only daily fact goes: both
        # books, from unit_economics_daily's change set
        "late_generation": {
            "completions": ({"mode": "skipped"}, nothing),
            "milestones": (key[1], ({u1_moved}, {u1_late})),
            "books": (key[2], ({(P1, "Dragons", 3, 1500), (P2, "Empty", 1, 380)}, {(P1, "Dragons", 4, 1500)})),
        },
        # C1's word count its book; its updated_at, a save on its completion day, its owner's completion moment
        "chapter_edited": {
            "completions": (no_key, nothing),
            "milestones": (key[1], ({u1_late}, {(U1, saved, u1_late[2], edited)})),
            "books": (key[1], ({(P1, "Dragons", 4, 1500)}, {(P1, "Dragons", 4, 1499)})),
        },
    }
    marts = {"completions": "chapter_completions", "milestones": "user_milestones", "books": "unit_economics_books"}
    for name, change, old, new in steps:
        before, rows_before = _facts(live), _rows(live)
        execute(source_url, change)
        run_cli("etl", "run", env=env)
        run = last_run(env)
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
        rows_after = _rows(live)
        for mart, (refreshed, (gone, came)) in reached[name].items():
            assert _refreshed(run, marts[mart]) == refreshed, (name, mart)
            assert (rows_before[mart] - rows_after[mart], rows_after[mart] - rows_before[mart]) == (gone, came), (
                name,
                mart,
            )
        # its difference is its change set: the publication writes it from that, not compared whole
        assert ("marts.version_facts" in run["publication"]["by_change_set"]) == (name not in facts), name
        # the working file keeps a fingerprint of every published table (each checked against a scan below)
        with duckdb.connect(str(live.parent / WORK_FILE), read_only=True) as con:
            assert len(stored_fingerprints(con)) > 60, name
        assert full_run_differences(env, tmp_path / name) == {}, name
