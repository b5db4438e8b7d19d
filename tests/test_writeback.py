"""Write-back into PostgreSQL: project metrics (exact values, reruns write only what changed) and content
statistics."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from pipelines import warehouse
from pipelines.bench.tuples import wait_until_quiet
from pipelines.publish.counted_chapters import CountedChapters
from pipelines.publish.readability import TextCounts, count_from, count_text, syllables
from pipelines.publish.writeback import ChangedChapters, WriteBackCounts, metric_rows, write_back
from pipelines.publish.writeback_cache import open_cache
from pipelines.queries import one_row, sql_file
from pipelines.run import hooks
from tests.conftest import run_cli
from tests.etl_rows import C1, C1_TEXT, C2, C2_TEXT, G2, P1, P2, U3, execute, insert_platform, query_warehouse

C3, C4 = "c0000000-0000-0000-0000-000000000003", "c0000000-0000-0000-0000-000000000004"
C5 = "c0000000-0000-0000-0000-000000000005"
P3 = "b0000000-0000-0000-0000-000000000003"


@pytest.mark.fast
@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("the", 1),
        ("cat", 1),
        ("happy", 2),
        ("table", 2),
        ("makes", 1),
        ("yesterday", 3),
        ("Loudly", 2),
        ("2024", 1),
    ],
)
def test_syllable_heuristic(word: str, expected: int) -> None:
    assert syllables(word) == expected


@pytest.mark.fast
def test_readability_of_known_texts() -> None:
    # 9 words, 2 sentences, 10 syllables: 206.835 - 1.015 x 4.5 - 84.6 x 10/9 = 108.2675; 0.39 x 4.5 + 11.8 x 10/9
    # - 15.59 = -0.7239
    first = count_text(C1_TEXT)
    assert first == TextCounts(words=9, characters=37, sentences=2, paragraphs=1, syllables=10)
    assert (first.flesch_reading_ease, first.flesch_kincaid_grade) == (Decimal("108.27"), Decimal("-0.72"))
    # 5 words, 2 sentences, 6 syllables: 102.7775 and exactly -0.455, rounded half away from zero
    second = count_text(C2_TEXT)
    assert second == TextCounts(words=5, characters=30, sentences=2, paragraphs=2, syllables=6)
    assert (second.flesch_reading_ease, second.flesch_kincaid_grade) == (Decimal("102.78"), Decimal("-0.46"))
    # a project combines its chapters' counts: 14 words, 4 sentences, 16 syllables
    both = first + second
    assert (both.flesch_reading_ease, both.flesch_kincaid_grade) == (Decimal("106.60"), Decimal("-0.74"))
    assert count_text("") == TextCounts() and count_text(None).flesch_reading_ease is None
    assert count_text("no end mark").sentences == 1
    # a stretch without a word is no sentence, however many marks end it; a word after the last mark is one
    assert count_text("?! ... Wait!!! -- ... 'Fine.' Done").sentences == 3
    assert count_text("Go.\n\n...\n\n— !").sentences == 1


@pytest.mark.fast
def test_a_text_written_on_is_counted_from_its_last_checkpoint() -> None:
    old = "It rained. We stayed in."
    counts, checkpoint = count_from(old, None)
    assert counts == count_text(old)
    # The cut: after the last end mark followed by spaces ("It rained. "), its counts those of the text before it.
    assert checkpoint is not None and checkpoint.length == 11
    assert checkpoint.counts == count_text(old[:11]) == TextCounts(2, 11, 1, 1, 2)
    # Written on: 12 words (It, rained, We, stayed, in, Then, the, sun, came, out, We, walked), 59 characters,
    # 4 sentences, 2 paragraphs (the first goes on across the cut), 12 syllables; cut again after "in. ".
    new = old + " Then the sun came out.\n\nWe walked."
    counts, again = count_from(new, checkpoint)
    assert counts == count_text(new) == TextCounts(12, 59, 4, 2, 12)
    assert again is not None and again.length == 25 and again.counts == count_text(new[:25])
    # The checkpoint's counts are taken, not recounted: only what follows the cut is read ...
    padded = replace(checkpoint, counts=replace(checkpoint.counts, words=1002))
    assert count_from(new, padded)[0].words == 1012
    # ... unless the text no longer begins as it did, or is no longer cut there (a line break after the spaces).
    for changed in ("It snowed. We stayed in. Then.", "It rained. \nWe stayed in."):
        assert count_from(changed, padded)[0] == count_text(changed)
    assert count_from("No end mark yet", None) == (count_text("No end mark yet"), None)


@pytest.mark.fast
def test_counting_from_a_checkpoint_equals_counting_the_whole_text() -> None:
    pieces = ["word", "it's", "well-known", "B2", "—", "'", ".", "!", "?", "...", " ", "  ", "\t", "\n", "\n\n", "é"]
    generator = random.Random(12)
    for _ in range(3000):
        old = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 30)))
        new = old + "".join(generator.choice(pieces) for _ in range(generator.randint(0, 15)))
        if generator.random() < 0.3:  # an edit somewhere, not only at the end
            at = generator.randint(0, len(new))
            new = new[:at] + generator.choice(pieces) + new[at:]
        _, checkpoint = count_from(old, None)
        counts, again = count_from(new, checkpoint)
        assert counts == count_text(new), (old, new)
        assert again is None or again.counts == count_text(new[: again.length]), new


@pytest.mark.fast
def test_kept_counts_from_before_checkpoints_are_dropped(tmp_path: Path) -> None:
    """A counts file of the release before checkpoints: only a cache, so it starts over (its rows would be read
    as rows without a checkpoint otherwise, and the new columns are missing)."""
    path = tmp_path / "writeback_state.sqlite"
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("create table rollup (database text not null)")
        con.execute("insert into rollup values ('db')")
        con.execute(
            "create table chapter_counts (chapter_id text primary key, project_id text not null, xmin integer not "
            "null, updated_at text, words integer not null, characters integer not null, sentences integer not "
            "null, paragraphs integer not null, syllables integer not null)"
        )
        con.execute(f"insert into chapter_counts values ('{C1}', '{P1}', 7, null, 9, 37, 2, 1, 10)")
    with closing(open_cache(path, "db")) as cache:
        counted = CountedChapters(cache)
        assert counted.of_projects([UUID(P1)]).rows == {}
        version = (UUID(C1), UUID(P1), 8, None)
        counts, checkpoint = count_from(C1_TEXT + " More.", None)
        counted.stage([(version, (counts, checkpoint))])
        counted.remember(deleted=())
        known = counted.of_projects([UUID(P1)])
    assert list(known.rows) == [C1]
    assert (known.counts(UUID(C1)), known.checkpoint(UUID(C1))) == (counts, checkpoint)


def _metrics(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select project_id::text, total_words, chapters_completed, ai_generated_percentage, collaborator_count, "
            "revisions_count, ai_generation_time_minutes, active_writing_time_minutes, comments_count, metrics_date "
            "from analytics.project_metrics order by project_id, metrics_date"
        ).fetchall()
    assert len(rows) == len({row[0] for row in rows})  # one row per project (and date)
    return {row[0]: row[1:] for row in rows}


def _xmins(url: str) -> dict[tuple[str, date], str]:
    """The row version of each (project, metrics_date) row: unchanged when the row was not rewritten."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select project_id::text, metrics_date, xmin::text from analytics.project_metrics"
        ).fetchall()
    return {(project, day): xmin for project, day, xmin in rows}


def _statistics(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select content_id::text, content_type, word_count, character_count, sentence_count, paragraph_count, "
            "flesch_reading_ease, flesch_kincaid_grade from content.content_statistics order by content_id"
        ).fetchall()
    assert len(rows) == len({row[0] for row in rows})  # one row per content, whatever was stored before
    return {row[0]: row[1:] for row in rows}


def _statistics_versions(url: str) -> dict[str, tuple]:
    """Each statistics row's (content, row version, sentiment): a row not rewritten keeps its version."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select content_id::text, xmin::text, sentiment_score from content.content_statistics"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_writeback_values_and_reruns_write_what_changed(
    source_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    insert_platform(source_url)
    execute(
        source_url,
        f"""
        insert into content.projects (id, title, owner_id) values ('{P3}', 'Untouched', '{U3}');
        insert into content.chapters (id, project_id, position, content, word_count, status) values
          ('{C3}', '{P2}', 1, 'Short one.', 2, 'draft'), ('{C4}', '{P3}', 1, 'Hi.', 1, 'draft');
    """,
    )
    run_cli("etl", "run", env=cli_env)
    live = Path(cli_env["EBOOK_ANALYTICS_WAREHOUSE"])
    (snapshot_day,) = query_warehouse(live, "select snapshot_at::date from meta.publication")[0]
    assert isinstance(snapshot_day, date)

    # P1: 1000 AI words of 1500; completed chapter C1; 1 accepted collaborator of 2 invited; 3 versions;
    # generations 90000 + 45000 ms = 2.25 minutes, floored
    assert _metrics(source_url) == {
        P1: (1500, 1, Decimal("66.67"), 2, 3, 2, 0, 0, snapshot_day),
        P2: (2, 0, Decimal("0.00"), 1, 0, 0, 0, 0, snapshot_day),
        P3: (1, 0, Decimal("0.00"), 1, 0, 0, 0, 0, snapshot_day),
    }
    assert _statistics(source_url) == {
        P1: ("project", 14, 67, 4, 3, Decimal("106.60"), Decimal("-0.74")),
        P2: ("project", 2, 10, 1, 1, Decimal("120.21"), Decimal("-3.01")),
        C1: ("chapter", 9, 37, 2, 1, Decimal("108.27"), Decimal("-0.72")),
        C2: ("chapter", 5, 30, 2, 2, Decimal("102.78"), Decimal("-0.46")),
        C3: ("chapter", 2, 10, 1, 1, Decimal("120.21"), Decimal("-3.01")),
        P3: ("project", 1, 3, 1, 1, Decimal("121.22"), Decimal("-3.40")),
        C4: ("chapter", 1, 3, 1, 1, Decimal("121.22"), Decimal("-3.40")),
    }

    first_versions = _xmins(source_url)
    execute(
        source_url,
        f"""
        update content.chapters set content = 'Dogs bark loudly.', word_count = 501 where id = '{C2}';
        update ai_processing.ai_generations set processing_time_ms = 80000 where id = '{G2}';
        delete from content.chapters where id = '{C3}';
    """,
    )
    rerun = run_cli("etl", "run", env=cli_env)

    # 1000 / 1501 = 66.622%; (90000 + 80000) / 60000 = 2.83 minutes, floored to 2 (rounding would give 3)
    assert _metrics(source_url) == {
        P1: (1501, 1, Decimal("66.62"), 2, 3, 2, 0, 0, snapshot_day),
        P2: (0, 0, Decimal("0.00"), 1, 0, 0, 0, 0, snapshot_day),
        P3: (1, 0, Decimal("0.00"), 1, 0, 0, 0, 0, snapshot_day),
    }
    # C2 now: 3 words, 1 sentence, 4 syllables; P1: 12 words, 3 sentences, 14 syllables; P2 has no text left
    assert _statistics(source_url) == {
        P1: ("project", 12, 54, 3, 2, Decimal("104.08"), Decimal("-0.26")),
        P2: ("project", 0, 0, 0, 0, None, None),
        C1: ("chapter", 9, 37, 2, 1, Decimal("108.27"), Decimal("-0.72")),
        C2: ("chapter", 3, 17, 1, 1, Decimal("90.99"), Decimal("1.31")),
        P3: ("project", 1, 3, 1, 1, Decimal("121.22"), Decimal("-3.40")),
        C4: ("chapter", 1, 3, 1, 1, Decimal("121.22"), Decimal("-3.40")),
    }
    # only the affected projects were recomputed: P1 (C1 and C2 re-read) and P2 (its chapter was deleted), not P3;
    # and only their metrics rows were written: P3's row is equal (its digest too), so it was not even sent
    # of P1's chapters only C2's text was read (C1's counts were kept from the first run); P2 has none left
    assert "wrote back 2 project metrics, 4 content statistics (chapter texts read: 1)" in rerun.stdout
    versions = _xmins(source_url)
    assert versions[(P3, snapshot_day)] == first_versions[(P3, snapshot_day)]
    assert versions[(P1, snapshot_day)] != first_versions[(P1, snapshot_day)] != versions[(P2, snapshot_day)]

    # One chapter of P3 changes: exactly P3's row is written. 4 words, completed, not AI-generated.
    execute(source_url, f"update content.chapters set word_count = 4, status = 'completed' where id = '{C4}'")
    third = run_cli("etl", "run", env=cli_env)
    # P3's row; C4 and P3 statistics, C4 counted again: its row is a new version (same text, but nothing says so)
    assert "wrote back 1 project metrics, 2 content statistics (chapter texts read: 1)" in third.stdout
    day_one = {
        P1: (1501, 1, Decimal("66.62"), 2, 3, 2, 0, 0, snapshot_day),
        P2: (0, 0, Decimal("0.00"), 1, 0, 0, 0, 0, snapshot_day),
        P3: (4, 1, Decimal("0.00"), 1, 0, 0, 0, 0, snapshot_day),
    }
    assert _metrics(source_url) == day_one
    assert {key: xmin for key, xmin in _xmins(source_url).items() if key[0] != P3} == {
        key: xmin for key, xmin in versions.items() if key[0] != P3
    }

    _write_back_in_process(source_url, cli_env, day_one, monkeypatch)


def _write_back_in_process(
    url: str, env: dict[str, str], day_one: dict[str, tuple], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write-back called on the last publication, without ETL runs: nothing changed, a crash before the
    commit, a new day, a state file for another database or none, a row changed behind the write-back's back."""
    home, live = Path(env["EBOOK_ANALYTICS_HOME"]), Path(env["EBOOK_ANALYTICS_WAREHOUSE"])
    state_path = home / "writeback_state.json"
    with warehouse.connect(live, read_only=True) as con:
        (snapshot_at,) = con.execute("select snapshot_at from meta.publication").fetchone()

        def again(
            *, at: timedelta = timedelta(0), send_all: bool = False, changed: ChangedChapters | None = None
        ) -> WriteBackCounts:
            return write_back(
                metric_rows(con, snapshot_at + at),
                url,
                snapshot_at=snapshot_at + at,
                state_path=state_path,
                send_all=send_all,
                changed_chapters=changed,
            )

        versions = _xmins(url)
        # The ETL's incremental runs used their change sets and kept the full run's watermark: the first call
        # without one recomputes the projects of the chapters written since (C2 and C4: P1 and P3), as a full run
        # would, from counts kept when those very versions were counted: no text is read.
        statistics = _statistics(url)
        assert again() == WriteBackCounts(
            project_metrics=0, statistics_chapters=3, statistics_projects=2, chapters_counted=0
        )
        assert _statistics(url) == statistics
        # nothing changed: nothing sent, nothing written, no row rewritten
        assert again() == WriteBackCounts(project_metrics=0, statistics_chapters=0, statistics_projects=0)
        # C2 rewritten with the same text: P1 is recomputed, and C2 read again (a new version); without the kept
        # counts (their file lost, or damaged) C1 is read too; a state of another database (whose xids name other
        # rows) has every project recomputed and every text read. The statistics stay the same.
        touch_c2 = f"update content.chapters set status = status where id = '{C2}'"
        stored = _statistics_versions(url)
        for prepare, rewritten, read in (
            (lambda: execute(url, touch_c2), 2, 1),
            (lambda: (state_path.with_suffix(".sqlite").unlink(), execute(url, touch_c2)), 2, 2),
            (lambda: (state_path.with_suffix(".sqlite").write_bytes(b"not a database"), execute(url, touch_c2)), 2, 2),
            (lambda: state_path.write_text(state_path.read_text().replace("postgresql://", "postgresql://o.")), 3, 3),
        ):
            prepare()
            recounted = again()
            assert (recounted.statistics_chapters, recounted.chapters_counted) == (rewritten, read)
            assert _statistics(url) == statistics
            assert _statistics_versions(url) == stored  # recomputed equal: no row written
        # C2's row stored twice and C1's changed behind our back, both with an AI analysis (a column the write-back
        # does not compute): C2 keeps one row, C1's counts are written back in place, the analyses stay.
        execute(
            url,
            f"""update content.content_statistics set sentiment_score = 0.5 where content_id in ('{C1}', '{C2}');
            insert into content.content_statistics (content_id, content_type, word_count, sentiment_score)
                values ('{C2}', 'chapter', 3, 0.5);
            update content.content_statistics set word_count = 99 where content_id = '{C1}';
            {touch_c2}""",
        )
        assert again().statistics_chapters == 2  # P1's chapters: C1 (kept counts) and C2
        assert _statistics(url) == statistics
        assert {content: sentiment for content, (_, sentiment) in _statistics_versions(url).items()} == {
            **{content: sentiment for content, (_, sentiment) in stored.items()},
            C1: Decimal("0.5000"),
            C2: Decimal("0.5000"),  # the first of its rows (by id) is kept, counts rewritten where they differ
        }
        assert _metrics(url) == day_one and _xmins(url) == versions

        # P1's digest no longer matches (as after a crash between a commit and the state's save): P1 is sent. The
        # file drops P1's digest before the commit, so the run dying there (the hook) makes the next one send it
        # again, and that one writes nothing: the source already has P1's row.
        with closing(sqlite3.connect(state_path.with_suffix(".sqlite"))) as cache, cache:
            cache.execute("update written_digests set digest = '0000000000000000' where project_id = ?", (P1,))
        seen: list[set[str]] = []

        def die() -> None:
            seen.append(set(_digests(state_path)))
            raise RuntimeError("killed before the commit")

        with monkeypatch.context() as patch:
            patch.setattr(hooks, "_callbacks", {})
            hooks.on_phase("writeback", die)
            with pytest.raises(RuntimeError):
                again()
        assert seen == [{P2, P3}]
        assert again().project_metrics == 0 and _xmins(url) == versions
        assert set(_digests(state_path)) == {P1, P2, P3}

        # a new UTC day: every project gets its row for it; the day before keeps its rows untouched
        day = snapshot_at.date() + timedelta(days=1)
        day_two = {project: (*values[:-1], day) for project, values in day_one.items()}
        assert again(at=timedelta(days=1)).project_metrics == 3
        assert _metrics_on(url, day) == day_two and _metrics_on(url, snapshot_at.date()) == day_one
        day_two_versions = _xmins(url)

        # A row changed behind the write-back (by hand, or by another warehouse writing this database): the digests
        # describe what this data folder wrote, so it is not restored while P2's own values stay the same ...
        _set_words(url, P2, day, 999)
        assert again(at=timedelta(days=1)).project_metrics == 0
        assert _metrics_on(url, day)[P2][0] == 999
        # ... but is by `etl run --full` (send_all), by a state file of another database, or without one: all
        # rows are sent, the one that differs is written, the others are left alone.
        assert again(at=timedelta(days=1), send_all=True).project_metrics == 1
        assert _metrics_on(url, day) == day_two
        for prepare in (
            lambda: state_path.write_text(state_path.read_text().replace("postgresql://", "postgresql://other.")),
            lambda: state_path.unlink(),
        ):
            _set_words(url, P2, day, 999)
            prepare()
            assert again(at=timedelta(days=1)).project_metrics == 1
            assert _metrics_on(url, day) == day_two
        assert {key: xmin for key, xmin in _xmins(url).items() if key[0] != P2} == {
            key: xmin for key, xmin in day_two_versions.items() if key[0] != P2
        }

        # held back (a failed check): nothing is sent, the source keeps its rows, the digests stay as they were
        digests = _digests(state_path)
        _set_words(url, P1, day, 999)
        held = write_back(None, url, snapshot_at=snapshot_at, state_path=state_path)
        assert held.project_metrics == 0 and _metrics_on(url, day)[P1][0] == 999
        assert _digests(state_path) == digests
        _set_words(url, P1, day, 1501)

        # P3 deleted at the source after the publication: the next day's row for it is refused, and not remembered
        execute(
            url,
            f"""
            delete from analytics.project_metrics where project_id = '{P3}';
            delete from content.chapters where id = '{C4}';
            delete from content.projects where id = '{P3}';
        """,
        )
        assert again(at=timedelta(days=2)).project_metrics == 2
        assert set(_metrics_on(url, day + timedelta(days=1))) == {P1, P2}
        assert set(_digests(state_path)) == {P1, P2}

        _statistics_from_change_sets(url, state_path, lambda changed: again(at=timedelta(days=3), changed=changed))


def _digests(state_path: Path) -> dict[str, str]:
    """The digest of each project's row last written, as the write-back's cache keeps them."""
    with closing(sqlite3.connect(state_path.with_suffix(".sqlite"))) as cache:
        return dict(cache.execute("select project_id, digest from written_digests").fetchall())


def _statistics_from_change_sets(
    url: str, state_path: Path, again: Callable[[ChangedChapters | None], WriteBackCounts]
) -> None:
    """A run's change set names the stale statistics: no scan of content.chapters, except for the day's first
    run's consistency pass; the watermark stays for the next xmin scan. Here: P1 (C1, C2), P2 (no chapters)."""
    hi = ("chapter", 1, 3, 1, 1, Decimal("121.22"), Decimal("-3.40"))  # 'Hi.'
    short = ("chapter", 2, 10, 1, 1, Decimal("120.21"), Decimal("-3.01"))  # 'Short one.'
    p2_only = ChangedChapters(projects=frozenset({UUID(P2)}), deleted=frozenset())

    # The day's first call with a change set still runs the consistency pass: C1's row, deleted by hand, is back.
    before = _statistics(url)
    execute(
        url,
        f"""
        delete from content.content_statistics where content_id = '{C1}';
        insert into content.chapters (id, project_id, position, content, word_count, status)
        values ('{C5}', '{P2}', 1, 'Hi.', 1, 'draft');
    """,
    )
    counts = again(p2_only)
    assert (counts.statistics_chapters, counts.statistics_projects) == (3, 2)  # C1, C2, C5; P1, P2
    assert _statistics(url) == before | {C5: hi, P2: ("project", *hi[1:])}
    watermark = json.loads(state_path.read_text())["snapshot_xmin"]

    # The second: exactly P2's chapter and row; of content.chapters no sequential scan, and only that chapter read.
    # C2, edited behind the change set's back, stays stale, and the watermark stays where the first call left it.
    execute(
        url,
        f"""
        update content.chapters set content = 'Short one.' where id = '{C5}';
        update content.chapters set content = E'{C2_TEXT.replace(chr(10), chr(92) + "n")}' where id = '{C2}';
    """,
    )
    with _chapters_read(url) as read:
        counts = again(p2_only)
    assert read == [(0, 1)]  # C5, by project_id
    assert (counts.statistics_chapters, counts.statistics_projects) == (1, 1)
    assert _statistics(url) == before | {C5: short, P2: ("project", *short[1:])}
    assert json.loads(state_path.read_text())["snapshot_xmin"] == watermark

    # A call without a change set scans xmin from that watermark: C2 is found, P1 recomputed (C1, C2) with P2 (C5).
    assert (again(None).statistics_chapters, again(None).statistics_chapters) == (3, 0)
    p1_fresh = ("project", 14, 67, 4, 3, Decimal("106.60"), Decimal("-0.74"))
    fresh = before | {C2: ("chapter", 5, 30, 2, 2, Decimal("102.78"), Decimal("-0.46")), P1: p1_fresh}
    assert _statistics(url) == fresh | {C5: short, P2: ("project", *short[1:])}

    # Later the same day no consistency pass: a row deleted by hand stays away. A deleted chapter's row goes by
    # id, and its project's row adds up again.
    execute(url, f"delete from content.content_statistics where content_id = '{C1}'")
    execute(url, f"delete from content.chapters where id = '{C5}'")
    with _chapters_read(url) as read:
        counts = again(ChangedChapters(projects=frozenset({UUID(P2)}), deleted=frozenset({UUID(C5)})))
    assert read == [(0, 0)]  # P2 has no chapter left
    assert (counts.statistics_chapters, counts.statistics_projects) == (0, 1)
    without_c1 = {key: row for key, row in fresh.items() if key != C1}
    assert _statistics(url) == without_c1 | {P2: ("project", 0, 0, 0, 0, None, None)}
    # the next call without a change set restores it
    assert again(None).statistics_chapters == 2
    assert _statistics(url) == fresh | {P2: ("project", 0, 0, 0, 0, None, None)}


@contextmanager
def _chapters_read(url: str) -> Iterator[list[tuple[int, int]]]:
    """The list receives the sequential scans of content.chapters meanwhile and the tuples they and index scans
    read (seq_tup_read + idx_tup_fetch). Sequential scans are disabled for new sessions on the database, so that
    an index read of a few chapters is not planned as a scan of these tiny tables; a search of the whole table
    then reads it all through an index, or still scans it where no index helps (xmin)."""
    with psycopg.connect(url, autocommit=True) as conn:
        database = sql.Identifier(one_row(conn.execute("select current_database()"))[0])
        conn.execute(sql.SQL("alter database {} set enable_seqscan = off").format(database))
    read: list[tuple[int, int]] = []
    try:
        scans, tuples = _chapter_reads(url)
        yield read
        scans_after, tuples_after = _chapter_reads(url)
        read.append((scans_after - scans, tuples_after - tuples))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("alter database {} reset enable_seqscan").format(database))


def _chapter_reads(url: str) -> tuple[int, int]:
    """Sequential scans of content.chapters so far, and tuples read; a session's counters reach the view when it
    ends."""
    wait_until_quiet(url)
    with psycopg.connect(url) as conn:
        scans, tuples = one_row(
            conn.execute(
                "select seq_scan, seq_tup_read + idx_tup_fetch from pg_stat_user_tables "
                "where relid = 'content.chapters'::regclass"
            )
        )
    return int(scans), int(tuples)


def _set_words(url: str, project: str, day: date, words: int) -> None:
    """Change a stored row's total_words behind the write-back's back."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "update analytics.project_metrics set total_words = %s where project_id = %s and metrics_date = %s",
            (words, project, day),
        )


def _metrics_on(url: str, day: date) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select project_id::text, total_words, chapters_completed, ai_generated_percentage, collaborator_count, "
            "revisions_count, ai_generation_time_minutes, active_writing_time_minutes, comments_count, metrics_date "
            "from analytics.project_metrics where metrics_date = %s",
            (day,),
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def _scans_of(plan: dict, table: str) -> list[str]:
    """How `table` is read anywhere in an EXPLAIN (FORMAT JSON) plan: its scan nodes, in plan order."""
    found = [plan["Node Type"]] if plan.get("Relation Name") == table and plan["Node Type"].endswith("Scan") else []
    for child in plan.get("Plans", []):
        found += _scans_of(child, table)
    return found


def test_statistics_are_written_by_index_lookups_even_where_the_table_looks_empty(source_url: str) -> None:
    # A fresh source: content_statistics empty and analysed as such. A sequential scan of it per incoming row then
    # looks cheapest, and the insert grows the table under that scan: quadratic in the chapters written (8 s for
    # 30,000 chapters, most of an hour at `large`).
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute("vacuum analyze content.content_statistics")
    incoming = [(UUID(int=n), "chapter", n, 2 * n, 1, 1, Decimal("50.00"), Decimal("8.00")) for n in range(1, 2001)]
    statements = ("statistics_delete_duplicates", "statistics_update_changed", "statistics_insert_missing")
    with psycopg.connect(source_url) as conn:
        conn.execute(sql_file("writeback/statistics_incoming"))
        with conn.cursor() as cur, cur.copy("copy statistics_incoming from stdin") as copy:
            for row in incoming:
                copy.write_row(row)
        conn.execute("analyze statistics_incoming")
        conn.execute(sql_file("writeback/statistics_by_key"))
        plans = {name: conn.execute(f"explain (format json) {sql_file(f'writeback/{name}')}") for name in statements}
        scans = {name: _scans_of(one_row(plan)[0][0]["Plan"], "content_statistics") for name, plan in plans.items()}
        written = [conn.execute(sql_file(f"writeback/{name}")).rowcount for name in statements]
    assert scans == {
        "statistics_delete_duplicates": ["Index Scan", "Index Scan"],
        "statistics_update_changed": ["Index Scan"],
        "statistics_insert_missing": ["Index Only Scan"],
    }
    assert written == [0, 0, 2000]
    with psycopg.connect(source_url) as conn:
        stored = conn.execute("select count(*), sum(word_count) from content.content_statistics").fetchone()
    assert stored == (2000, 2001000)  # 1 + 2 + ... + 2000
