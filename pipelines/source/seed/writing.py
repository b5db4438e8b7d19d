"""What authors write: projects moving draft -> in_progress -> completed -> published, collaborators, chapters
and their content versions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.source.seed import catalog
from pipelines.source.seed.columns import (
    DAY,
    HOUR,
    MINUTE,
    booleans,
    choose,
    group_starts,
    integers,
    join,
    labels,
    rank_in_group,
    ref,
    text,
    time_uuids,
    timestamps,
    uuids,
)
from pipelines.source.seed.people import Organizations, Sessions, Users
from pipelines.source.seed.texts import TextPool
from pipelines.source.seed.timeline import Window

PROJECT_STATUSES = ("draft", "in_progress", "completed", "published", "archived")
CHAPTER_STATUSES = ("draft", "in_progress", "review", "completed")
CHANGE_TYPES = ("manual", "ai_generation", "ai_revision", "collaboration")
_NEVER = np.iinfo(np.int64).max


@dataclass
class Projects:
    """Sorted by (owner, created)."""

    ids: np.ndarray
    owner: np.ndarray
    created: np.ndarray
    genre: np.ndarray
    target_words: np.ndarray
    planned_chapters: np.ndarray
    completed: np.ndarray  # -1: not (yet)
    published: np.ndarray  # -1: not (yet)
    archived: np.ndarray  # bool
    finish: np.ndarray  # when the book would be done if writing went on
    writing_until: np.ndarray  # writing stops: completion, abandonment, the owner leaving, or the window's end
    session: np.ndarray  # the session it was created in
    organization: np.ndarray  # -1: personal project

    def __len__(self) -> int:
        return len(self.ids)


def new_projects(
    rng: np.random.Generator, users: Users, sessions: Sessions, per_user: float, orgs: Organizations, window: Window
) -> Projects:
    """Projects started in their owner's sessions (the first one often in the very first session)."""
    session_count = np.bincount(sessions.user, minlength=len(users))
    first_session = group_starts(sessions.user, len(users))[:-1]
    appetite = np.clip(users.intensity, 0.3, 3.0)
    count = np.where(session_count > 0, rng.poisson(per_user * appetite / appetite.mean()), 0)
    owner = np.repeat(np.arange(len(users)), count)
    nth = rank_in_group(owner)
    pick = np.where(
        (nth == 0) & (rng.random(len(owner)) < 0.7),
        0,
        (rng.random(len(owner)) ** 1.7 * session_count[owner]).astype(np.int64),
    )
    session = first_session[owner] + pick
    room = np.minimum(sessions.end[session] - sessions.start[session], 10 * MINUTE)
    created = sessions.start[session] + (rng.random(len(owner)) * room).astype(np.int64)
    order = np.lexsort((created, owner))
    owner, created, session = owner[order], created[order], session[order]
    n = len(owner)

    genre = choose(rng, [g[1] for g in catalog.GENRES], n)
    low = np.array([g[2][0] for g in catalog.GENRES])[genre]
    high = np.array([g[2][1] for g in catalog.GENRES])[genre]
    target_words = rng.integers(low, high + 1) * 1000
    planned = np.clip(np.round(target_words / rng.uniform(4000, 7000, n)), 3, 24).astype(np.int64)

    write_days = target_words / 1500 * rng.lognormal(0, 0.6, n)  # ~1,500 words a day with AI help
    # Some authors bring a finished manuscript to format and publish: done within days.
    write_days = np.where(rng.random(n) < 0.08, rng.uniform(1, 6, n), write_days)
    finish = created + (write_days * DAY).astype(np.int64)
    abandons = rng.random(n) < 0.4
    abandon_at = np.where(abandons, created + (write_days * rng.uniform(0.05, 0.8, n) * DAY).astype(np.int64), _NEVER)
    stop = np.minimum.reduce([abandon_at, users.active_end[owner], np.full(n, window.end)])
    completed = np.where(finish < stop, finish, -1)
    publish_at = completed + (rng.lognormal(np.log(7), 0.8, n) * DAY).astype(np.int64)
    published = np.where((completed >= 0) & (rng.random(n) < 0.55) & (publish_at < window.end), publish_at, -1)
    archived = abandons & (abandon_at < window.end) & (completed < 0) & (rng.random(n) < 0.5)
    writing_until = np.where(completed >= 0, completed, stop)

    organization = np.full(n, -1)
    first_membership = np.full(len(users), -1)
    joined = np.full(len(users), _NEVER)
    order_m = np.argsort(orgs.member_joined, kind="stable")[::-1]  # earliest membership wins
    first_membership[orgs.member_user[order_m]] = orgs.member_org[order_m]
    joined[orgs.member_user[order_m]] = orgs.member_joined[order_m]
    team_project = (first_membership[owner] >= 0) & (joined[owner] <= created) & (rng.random(n) < 0.6)
    organization[team_project] = first_membership[owner][team_project]
    return Projects(
        ids=uuids(rng, n),
        owner=owner,
        created=created,
        genre=genre,
        target_words=target_words,
        planned_chapters=planned,
        completed=completed,
        published=published,
        archived=archived,
        finish=finish,
        writing_until=writing_until,
        session=session,
        organization=organization,
    )


@dataclass
class Chapters:
    """Sorted by (project, position)."""

    ids: np.ndarray
    project: np.ndarray
    position: np.ndarray  # 1-based
    created: np.ndarray
    words: np.ndarray  # the chapter's length now (its latest version's word count)
    status: np.ndarray
    active_until: np.ndarray  # when work on it moves to the next chapter

    def __len__(self) -> int:
        return len(self.ids)


def new_chapters(rng: np.random.Generator, projects: Projects) -> Chapters:
    """Chapters written one after the other over each project's writing time, up to where writing stopped."""
    n = len(projects)
    planned = projects.planned_chapters
    project = np.repeat(np.arange(n), planned)
    position = rank_in_group(project)
    write_days = projects.finish - projects.created
    draft = (write_days * rng.uniform(0.02, 0.12, n)).astype(np.int64)
    step = (write_days - draft) / planned
    created = (
        projects.created[project]
        + draft[project]
        + ((position + rng.uniform(0, 0.5, len(project))) * step[project]).astype(np.int64)
    )
    exists = created < projects.writing_until[project]
    project, position, created = project[exists], position[exists], created[exists]
    m = len(project)
    is_last = np.r_[project[1:] != project[:-1], True] if m else np.zeros(0, dtype=bool)
    done = projects.completed[project] >= 0
    full_words = projects.target_words[project] / planned[project] * rng.uniform(0.7, 1.3, m)
    words = np.round(full_words * np.where(is_last & ~done, rng.uniform(0.1, 1.0, m), 1.0)).astype(np.int64)
    roll = rng.random(m)
    status = np.where(done, 3, np.where(is_last, np.where(roll < 0.7, 1, 0), np.where(roll < 0.8, 3, 2)))
    next_created = np.r_[created[1:], 0] if m else created
    active_until = np.where(is_last, projects.writing_until[project], next_created)
    return Chapters(
        ids=uuids(rng, m),
        project=project,
        position=position + 1,
        created=created,
        words=words,
        status=status,
        active_until=np.maximum(active_until, created + MINUTE),
    )


@dataclass
class Collaborators:
    project: np.ndarray
    user: np.ndarray
    invited: np.ndarray
    accepted: np.ndarray  # -1: not (yet) accepted
    role: np.ndarray


def new_collaborators(
    rng: np.random.Generator, projects: Projects, chapters: Chapters, users: Users, orgs: Organizations, window: Window
) -> Collaborators:
    """Co-authors, editors and beta readers invited to some projects; team projects invite teammates."""
    has_chapters = np.bincount(chapters.project, minlength=len(projects)) > 0
    team = projects.organization >= 0
    invites = has_chapters & (rng.random(len(projects)) < np.where(team, 0.5, 0.15))
    count = np.where(invites, 1 + rng.poisson(0.6, len(projects)), 0)
    project = np.repeat(np.arange(len(projects)), count)
    k = len(project)
    invited = projects.created[project] + (rng.exponential(7, k) * DAY).astype(np.int64)
    # Anyone signed up by the invitation, or for team projects a member of the team.
    signed_up = np.searchsorted(users.created, invited, side="right")
    user = (rng.random(k) * signed_up).astype(np.int64)
    member_order = np.argsort(orgs.member_org, kind="stable")
    member_start = group_starts(orgs.member_org[member_order], len(orgs.ids))
    org = projects.organization[project]
    in_team = org >= 0
    team_size = np.where(in_team, member_start[np.maximum(org, 0) + 1] - member_start[np.maximum(org, 0)], 1)
    teammate = orgs.member_user[member_order][
        np.minimum(
            member_start[np.maximum(org, 0)] + (rng.random(k) * team_size).astype(np.int64), len(member_order) - 1
        )
    ]
    user = np.where(in_team, teammate, user)
    invited = np.maximum(invited, users.created[user] + HOUR)
    keep = (invited < window.end) & (user != projects.owner[project])
    project, user, invited = project[keep], user[keep], invited[keep]
    _, first = np.unique(project * len(users) + user, return_index=True)
    project, user, invited = project[first], user[first], invited[first]
    k = len(project)
    accepted = invited + (rng.exponential(1.5, k) * DAY).astype(np.int64)
    accepted = np.where((rng.random(k) < 0.7) & (accepted < window.end), accepted, -1)
    return Collaborators(
        project=project, user=user, invited=invited, accepted=accepted, role=1 + choose(rng, (0.55, 0.3, 0.15), k)
    )


def collaborators_table(
    rng: np.random.Generator, collaborators: Collaborators, projects: Projects, user_ids: np.ndarray
) -> pa.Table:
    k = len(collaborators.project)
    return pa.table(
        {
            "id": text(uuids(rng, k)),
            "project_id": text(projects.ids[collaborators.project]),
            "user_id": text(user_ids[collaborators.user]),
            "role": labels(("owner", "editor", "reviewer", "viewer"), collaborators.role),
            "permissions": labels(
                ('{"comment": true, "edit": true}', '{"comment": true, "edit": false}'),
                (collaborators.role > 1).astype(np.int64),
            ),
            "invited_by": text(user_ids[projects.owner[collaborators.project]]),
            "invited_at": timestamps(collaborators.invited),
            "accepted_at": timestamps(np.maximum(collaborators.accepted, 0), null=collaborators.accepted < 0),
        }
    )


@dataclass
class AiWork:
    """Completed AI generations on chapters, as the versions they produced."""

    chapter: np.ndarray
    user: np.ndarray
    at: np.ndarray  # the generation's completed_at
    model_name: pa.Array
    prompt: pa.Array


@dataclass
class Versions:
    """Sorted by (chapter, created)."""

    chapter: np.ndarray
    number: np.ndarray
    created: np.ndarray
    changed_by: np.ndarray
    change_type: np.ndarray
    words: np.ndarray


def new_versions(
    rng: np.random.Generator, chapters: Chapters, projects: Projects, collaborators: Collaborators, work: AiWork
) -> tuple[Versions, np.ndarray]:
    """Each chapter's history: a first draft, manual edits (some by accepted collaborators) and the versions AI
    generations produced; word counts grow to the chapter's length. Also returns, per chapter, the index into
    `work` of the generation that wrote it (-1: written by hand)."""
    m = len(chapters)
    owner = projects.owner[chapters.project]
    edits = rng.poisson(1.5, m)
    edit_chapter = np.repeat(np.arange(m), edits)
    span = chapters.active_until - chapters.created
    edit_at = chapters.created[edit_chapter] + (rng.uniform(0.05, 1.0, len(edit_chapter)) * span[edit_chapter])
    edit_at = edit_at.astype(np.int64)
    edit_by = owner[edit_chapter]
    edit_type = np.zeros(len(edit_chapter), dtype=np.int64)

    # The first accepted collaborator of a project makes some of its edits.
    accepted = collaborators.accepted >= 0
    helper = np.full(len(projects), -1)
    helper_since = np.full(len(projects), _NEVER)
    order = np.argsort(collaborators.accepted[accepted])[::-1]
    helper[collaborators.project[accepted][order]] = collaborators.user[accepted][order]
    helper_since[collaborators.project[accepted][order]] = collaborators.accepted[accepted][order]
    edit_project = chapters.project[edit_chapter]
    by_helper = (
        (helper[edit_project] >= 0) & (helper_since[edit_project] <= edit_at) & (rng.random(len(edit_at)) < 0.35)
    )
    edit_by = np.where(by_helper, helper[edit_project], edit_by)
    edit_type[by_helper] = 3

    # A chapter counts as AI-written when its first completed generation drafted it (70% of those chapters).
    first_work = np.full(m, -1)
    if len(work.chapter):
        order_w = np.lexsort((work.at, work.chapter))
        is_first = np.r_[True, work.chapter[order_w][1:] != work.chapter[order_w][:-1]]
        candidates = order_w[is_first]
        drafted = rng.random(len(candidates)) < 0.7
        first_work[work.chapter[candidates[drafted]]] = candidates[drafted]
    work_type = np.full(len(work.chapter), 2)
    work_type[first_work[first_work >= 0]] = 1

    chapter = np.concatenate([np.arange(m), edit_chapter, work.chapter])
    created = np.concatenate([chapters.created, edit_at, work.at])
    changed_by = np.concatenate([owner, edit_by, work.user])
    change_type = np.concatenate([np.zeros(m, dtype=np.int64), edit_type, work_type])
    order = np.lexsort((created, chapter))
    chapter, created, changed_by, change_type = chapter[order], created[order], changed_by[order], change_type[order]
    number = rank_in_group(chapter) + 1
    count = np.bincount(chapter, minlength=m)
    progress = (number / count[chapter]) ** 0.8
    words = np.round(chapters.words[chapter] * progress).astype(np.int64)
    return Versions(
        chapter=chapter, number=number, created=created, changed_by=changed_by, change_type=change_type, words=words
    ), first_work


def versions_table(
    rng: np.random.Generator, versions: Versions, chapters: Chapters, user_ids: np.ndarray, pool: TextPool
) -> pa.Table:
    v = len(versions.chapter)
    summary = labels(
        ("First draft", "Edited", "AI draft", "AI revision", "Collaborator edit"),
        np.where(versions.number == 1, 0, versions.change_type + 1),
    )
    return pa.table(
        {
            "id": text(time_uuids(rng, versions.created)),
            "chapter_id": text(chapters.ids[versions.chapter]),
            "version_number": integers(versions.number),
            "content": pool.passage_texts(rng, v),
            "title": join("Chapter ", pc.cast(pa.array(chapters.position[versions.chapter]), pa.string())),
            "change_summary": summary,
            "changed_by": text(user_ids[versions.changed_by]),
            "change_type": labels(CHANGE_TYPES, versions.change_type),
            "created_at": timestamps(versions.created),
            "word_count": integers(versions.words),
        }
    )


def chapters_table(
    rng: np.random.Generator,
    chapters: Chapters,
    projects: Projects,
    versions: Versions,
    first_work: np.ndarray,
    work: AiWork,
    pool: TextPool,
) -> pa.Table:
    m = len(chapters)
    last_version = group_starts(versions.chapter, m)[1:] - 1
    updated = versions.created[last_version]
    ai = first_work >= 0
    work_index = pa.array(np.maximum(first_work, 0))
    position = pc.cast(pa.array(chapters.position), pa.string())
    noun = labels(catalog.TITLE_NOUNS, rng.integers(0, len(catalog.TITLE_NOUNS), m))
    chars_per_word = rng.uniform(5.4, 6.2, m)
    return pa.table(
        {
            "id": text(chapters.ids),
            "project_id": text(projects.ids[chapters.project]),
            "title": join("Chapter ", position, ": The ", noun),
            "position": integers(chapters.position),
            "content": pool.chapter_texts(rng, m),
            "summary": join("In chapter ", position, " the story turns toward the ", pc.utf8_lower(noun), "."),
            "notes": pa.nulls(m, pa.string()),
            "word_count": integers(chapters.words),
            "character_count": integers(np.round(chapters.words * chars_per_word).astype(np.int64)),
            "ai_generated": booleans(ai),
            "ai_model": pc.if_else(pa.array(ai), work.model_name.take(work_index), None)
            if len(work.chapter)
            else pa.nulls(m, pa.string()),
            "ai_prompt_used": pc.if_else(pa.array(ai), work.prompt.take(work_index), None)
            if len(work.chapter)
            else pa.nulls(m, pa.string()),
            "ai_generation_timestamp": timestamps(
                np.where(ai, work.at[np.maximum(first_work, 0)], 0) if len(work.at) else np.zeros(m, dtype=np.int64),
                null=~ai,
            ),
            "status": labels(CHAPTER_STATUSES, chapters.status),
            "created_at": timestamps(chapters.created),
            "updated_at": timestamps(updated),
        }
    )


def projects_table(
    rng: np.random.Generator,
    projects: Projects,
    chapters: Chapters,
    versions: Versions,
    user_ids: np.ndarray,
    org_ids: np.ndarray,
    window: Window,
) -> pa.Table:
    n = len(projects)
    has_chapters = np.bincount(chapters.project, minlength=n) > 0
    status = np.where(
        projects.published >= 0,
        3,
        np.where(projects.completed >= 0, 2, np.where(projects.archived, 4, np.where(has_chapters, 1, 0))),
    )
    last_edit = np.zeros(n, dtype=np.int64)
    np.maximum.at(last_edit, chapters.project[versions.chapter], versions.created)
    updated = np.minimum(
        np.maximum.reduce([projects.created, last_edit, projects.completed, projects.published]), window.end - 1
    )
    visibility = np.where(
        projects.published >= 0, 2, np.where(projects.organization >= 0, 1, np.where(rng.random(n) < 0.1, 2, 0))
    )
    genre = labels([g[0] for g in catalog.GENRES], projects.genre)
    title = join(
        "The ",
        labels(catalog.TITLE_ADJECTIVES, rng.integers(0, len(catalog.TITLE_ADJECTIVES), n)),
        " ",
        labels(catalog.TITLE_NOUNS, rng.integers(0, len(catalog.TITLE_NOUNS), n)),
    )
    return pa.table(
        {
            "id": text(projects.ids),
            "title": title,
            "description": join("A ", pc.replace_substring(genre, "_", " "), " book: ", title, "."),
            "genre": genre,
            "target_audience": labels([g[3] for g in catalog.GENRES], projects.genre),
            "target_word_count": integers(projects.target_words),
            "settings": labels(("{}", '{"autosave": true}'), (rng.random(n) < 0.5).astype(np.int64)),
            "ai_configuration": labels(
                ('{"temperature": 0.7}', '{"temperature": 0.9, "style": "vivid"}'),
                (rng.random(n) < 0.3).astype(np.int64),
            ),
            "style_guide": labels(
                ("{}", '{"pov": "first"}', '{"pov": "third", "tense": "past"}'), rng.integers(0, 3, n)
            ),
            "owner_id": text(user_ids[projects.owner]),
            "organization_id": ref(org_ids, projects.organization),
            "status": labels(PROJECT_STATUSES, status),
            "visibility": labels(("private", "organization", "public"), visibility),
            "created_at": timestamps(projects.created),
            "updated_at": timestamps(updated),
            "completed_at": timestamps(np.maximum(projects.completed, 0), null=projects.completed < 0),
            "published_at": timestamps(np.maximum(projects.published, 0), null=projects.published < 0),
        }
    )


def embeddings_table(
    rng: np.random.Generator, chapters: Chapters, projects: Projects, window: Window, count: int = 20
) -> pa.Table:
    """A few vectors for the semantic search demo: 1536 dimensions like OpenAI's embedding models."""
    on_chapter = np.arange(count) % 4 != 3
    chapter = rng.integers(0, max(len(chapters), 1), count)
    project = rng.integers(0, max(len(projects), 1), count)
    if len(chapters) == 0:
        on_chapter[:] = False
    content_id = np.where(
        on_chapter,
        chapters.ids[np.minimum(chapter, max(len(chapters) - 1, 0))] if len(chapters) else projects.ids[project],
        projects.ids[project],
    )
    created = np.where(
        on_chapter,
        chapters.created[np.minimum(chapter, max(len(chapters) - 1, 0))]
        if len(chapters)
        else projects.created[project],
        projects.created[project],
    )
    created = np.minimum(created + HOUR, window.end - 1)
    vectors = rng.normal(size=(count, 1536))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return pa.table(
        {
            "id": text(uuids(rng, count)),
            "content_id": text(content_id),
            "content_type": labels(("chapter", "project"), (~on_chapter).astype(np.int64)),
            "embedding": pa.array(["[" + ",".join(f"{x:.6f}" for x in vector) + "]" for vector in vectors]),
            "model": labels(("text-embedding-3-small", "text-embedding-ada-002"), rng.integers(0, 2, count)),
            "created_at": timestamps(created),
        }
    )
