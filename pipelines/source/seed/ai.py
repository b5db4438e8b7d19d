"""The AI side: providers, models with list prices, generations in authors' sessions, prompt templates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.source.seed import catalog
from pipelines.source.seed.columns import (
    DAY,
    HOUR,
    SECOND,
    booleans,
    choose,
    decimals,
    group_starts,
    integers,
    labels,
    latest_at_or_before,
    nulled,
    ref,
    text,
    time_uuids,
    timestamps,
    uuids,
)
from pipelines.source.seed.people import Sessions
from pipelines.source.seed.texts import TextPool
from pipelines.source.seed.timeline import Window
from pipelines.source.seed.writing import Chapters, Projects

GENERATION_STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
PENDING, PROCESSING, COMPLETED, FAILED, CANCELLED = range(5)
_INPUT_PRICE = np.array([m.input_price for m in catalog.MODELS], dtype=np.int64)
_OUTPUT_PRICE = np.array([m.output_price for m in catalog.MODELS], dtype=np.int64)
_MS_PER_TOKEN = np.array([m.ms_per_token for m in catalog.MODELS])
_MODEL_MAX_TOKENS = np.array([m.max_tokens for m in catalog.MODELS])
_EARLY = np.array([m.early_weight for m in catalog.MODELS])
_LATE = np.array([m.late_weight for m in catalog.MODELS])
_GENRE_NAMES = [g[0] for g in catalog.GENRES]
# Per genre, the template written for it (-1: none).
_GENRE_TEMPLATE = np.array([next((i for i, t in enumerate(catalog.TEMPLATES) if t[2] == g), -1) for g in _GENRE_NAMES])
_GENERIC_TEMPLATES = np.array([i for i, t in enumerate(catalog.TEMPLATES) if t[2] is None])
SYSTEM_PROMPT = "You are a skilled book editor and co-writer. Keep the author's voice and style."


def cost_micro_dollars(model: np.ndarray, prompt_tokens: np.ndarray, completion_tokens: np.ndarray) -> np.ndarray:
    """List-price cost in micro-dollars (DECIMAL(10,6) units), rounded half up from the exact 1e-8 amount."""
    exact = prompt_tokens * _INPUT_PRICE[model] + completion_tokens * _OUTPUT_PRICE[model]
    cost: np.ndarray = (exact + 50) // 100
    return cost


def model_mix(rng: np.random.Generator, lateness: np.ndarray) -> np.ndarray:
    """A model per request; `lateness` in [0, 1] moves traffic from the early mix to the late one."""
    weights = (1 - lateness)[:, None] * _EARLY + lateness[:, None] * _LATE
    cumulative = np.cumsum(weights, axis=1)
    draw = rng.random(len(lateness)) * cumulative[:, -1]
    model: np.ndarray = np.minimum((cumulative < draw[:, None]).sum(axis=1), len(catalog.MODELS) - 1)
    return model


@dataclass
class Generations:
    """Sorted by (session, created)."""

    ids: np.ndarray
    user: np.ndarray
    session: np.ndarray
    project: np.ndarray  # -1: none
    chapter: np.ndarray  # -1: none
    model: np.ndarray
    template: np.ndarray
    created: np.ndarray
    started: np.ndarray  # -1: NULL
    completed: np.ndarray  # -1: NULL (finished time for completed, failed and cancelled requests)
    status: np.ndarray
    tokens: np.ndarray  # -1: NULL
    cost: np.ndarray  # micro-dollars, -1: NULL
    latency_ms: np.ndarray  # -1: NULL
    rating: np.ndarray  # -1: NULL
    confidence: np.ndarray  # 1e-4 units, -1: NULL
    temperature: np.ndarray  # hundredths
    max_tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def new_generations(
    rng: np.random.Generator,
    sessions: Sessions,
    user_weight: np.ndarray,
    target: int,
    projects: Projects,
    chapters: Chapters,
    window: Window,
    history: Window,
) -> Generations:
    """About `target` requests inside sessions, on the author's current project and one of its recent chapters.
    `history` is the whole seeded period: the model mix drifts across it."""
    weight = user_weight[sessions.user]
    count = rng.poisson(target * weight / max(weight.sum(), 1e-9))
    session = np.repeat(np.arange(len(sessions)), count)
    n = len(session)
    created = sessions.start[session] + (rng.random(n) * (sessions.end - sessions.start)[session]).astype(np.int64)
    order = np.lexsort((created, session))
    session, created = session[order], created[order]
    user = sessions.user[session]

    project = latest_at_or_before(projects.owner, projects.created, user, created)
    latest_chapter = latest_at_or_before(chapters.project, chapters.created, np.maximum(project, 0), created)
    latest_chapter = np.where(project >= 0, latest_chapter, -1)
    first_chapter = group_starts(chapters.project, len(projects))[np.maximum(project, 0)]
    written = latest_chapter - first_chapter + 1
    back = (rng.random(n) ** 2 * np.maximum(written, 1)).astype(np.int64)
    chapter = np.where((latest_chapter >= 0) & (rng.random(n) < 0.85), latest_chapter - back, -1)

    lateness = np.clip((created - history.start) / max(history.end - history.start, 1), 0, 1)
    model = model_mix(rng, lateness)
    genre_template = _GENRE_TEMPLATE[projects.genre[np.maximum(project, 0)]]
    template = np.where(
        (project >= 0) & (genre_template >= 0) & (rng.random(n) < 0.3),
        genre_template,
        _GENERIC_TEMPLATES[rng.integers(0, len(_GENERIC_TEMPLATES), n)],
    )

    max_tokens = np.minimum(
        np.array([1024, 2048, 4096, 8192])[choose(rng, (0.2, 0.4, 0.3, 0.1), n)], _MODEL_MAX_TOKENS[model]
    )
    prompt_tokens = np.clip(rng.lognormal(np.log(450), 0.7, n), 20, 8000).astype(np.int64)
    completion_tokens = np.minimum(np.clip(rng.lognormal(np.log(650), 0.8, n), 10, None).astype(np.int64), max_tokens)
    latency = (400 + completion_tokens * _MS_PER_TOKEN[model]) * rng.lognormal(0, 0.35, n)
    latency = np.where(rng.random(n) < 0.02, latency * rng.uniform(3, 12, n), latency).astype(np.int64) + 80
    queue = (rng.lognormal(np.log(150), 0.8, n) * 1000).astype(np.int64)
    started = created + queue

    roll = rng.random(n)
    status = np.where(roll < 0.04, FAILED, np.where(roll < 0.06, CANCELLED, COMPLETED))
    latency = np.where(status == FAILED, (latency * rng.uniform(0.05, 1, n)).astype(np.int64) + 1, latency)
    completed = np.where(status == CANCELLED, created + rng.integers(1, 30, n) * SECOND, started + latency * 1000)
    started = np.where((status == CANCELLED) & (rng.random(n) < 0.5), -1, started)

    # Requests still running when the history ends, plus a backlog queued in its last hours.
    backlog = (created >= window.end - 6 * HOUR) & (rng.random(n) < 0.25)
    if n >= 2:
        backlog[np.argsort(created)[-2:]] = True  # at least one pending and one processing request
    unfinished = (completed >= window.end) | backlog
    waiting = unfinished & ((started >= window.end) | (started < 0) | (rng.random(n) < 0.5))
    status = np.where(unfinished, np.where(waiting, PENDING, PROCESSING), status)
    if n >= 2:
        last_two = np.argsort(created)[-2:]
        status[last_two] = (PENDING, PROCESSING)
    started = np.where(status == PENDING, -1, np.minimum(started, window.end - 1))
    started = np.where((status == PROCESSING) & (started < 0), created, started)
    done = (status == COMPLETED) | (status == FAILED) | (status == CANCELLED)
    completed = np.where(done, completed, -1)

    tokens = np.where(status == COMPLETED, prompt_tokens + completion_tokens, -1)
    cost = np.where(status == COMPLETED, cost_micro_dollars(model, prompt_tokens, completion_tokens), -1)
    cost = np.where((status == FAILED) & (rng.random(n) < 0.4), 0, cost)
    cost = np.where(status == CANCELLED, 0, cost)
    rated = (status == COMPLETED) & (rng.random(n) < 0.35)
    rating = np.where(rated, 1 + choose(rng, (0.04, 0.08, 0.2, 0.38, 0.3), n), -1)
    confidence = np.where(status == COMPLETED, np.round(rng.beta(8, 2, n) * 10_000).astype(np.int64), -1)
    return Generations(
        ids=time_uuids(rng, created),
        user=user,
        session=session,
        project=project,
        chapter=chapter,
        model=model,
        template=template,
        created=created,
        started=started,
        completed=completed,
        status=status,
        tokens=tokens,
        cost=cost,
        latency_ms=np.where(done & (status != CANCELLED), latency, -1),
        rating=rating,
        confidence=confidence,
        temperature=np.array([30, 50, 70, 70, 70, 80, 90, 100])[rng.integers(0, 8, n)],
        max_tokens=max_tokens,
    )


def prompts(template: np.ndarray) -> pa.Array:
    texts = [t[3].format(genre="story", chapter="7", topic="second chances") for t in catalog.TEMPLATES]
    return labels(texts, template)


def generations_table(
    rng: np.random.Generator,
    gens: Generations,
    user_ids: np.ndarray,
    project_ids: np.ndarray,
    chapter_ids: np.ndarray,
    model_ids: np.ndarray,
    pool: TextPool,
) -> pa.Table:
    n = len(gens)
    completed = gens.status == COMPLETED
    failed = gens.status == FAILED
    return pa.table(
        {
            "id": text(gens.ids),
            "user_id": text(user_ids[gens.user]),
            "project_id": ref(project_ids, gens.project),
            "chapter_id": ref(chapter_ids, gens.chapter),
            "model_id": text(model_ids[gens.model]),
            "prompt": prompts(gens.template),
            "system_prompt": labels((SYSTEM_PROMPT, None), (rng.random(n) < 0.4).astype(np.int64)),
            "temperature": decimals(gens.temperature, 3, 2),
            "max_tokens": integers(gens.max_tokens),
            "response": nulled(pool.passage_texts(rng, n), ~completed),
            "tokens_used": integers(np.maximum(gens.tokens, 0), null=gens.tokens < 0),
            "cost": decimals(np.maximum(gens.cost, 0), 10, 6, null=gens.cost < 0),
            "processing_time_ms": integers(np.maximum(gens.latency_ms, 0), null=gens.latency_ms < 0),
            "confidence_score": decimals(np.maximum(gens.confidence, 0), 5, 4, null=gens.confidence < 0),
            "quality_rating": integers(np.maximum(gens.rating, 0), null=gens.rating < 0),
            "status": labels(GENERATION_STATUSES, gens.status),
            "error_message": nulled(
                labels(catalog.ERROR_MESSAGES, rng.integers(0, len(catalog.ERROR_MESSAGES), n)), ~failed
            ),
            "created_at": timestamps(gens.created),
            "started_at": timestamps(np.maximum(gens.started, 0), null=gens.started < 0),
            "completed_at": timestamps(np.maximum(gens.completed, 0), null=gens.completed < 0),
        }
    )


def providers_and_models(rng: np.random.Generator, history: Window) -> tuple[pa.Table, pa.Table, np.ndarray]:
    provider_ids = uuids(rng, len(catalog.PROVIDERS))
    model_ids = uuids(rng, len(catalog.MODELS))
    names = [p.name for p in catalog.PROVIDERS]
    since = history.start - 120 * DAY
    providers = pa.table(
        {
            "id": text(provider_ids),
            "name": pa.array(names),
            "api_endpoint": pa.array([p.api_endpoint for p in catalog.PROVIDERS]),
            "configuration": pa.array(['{"timeout_s": 120, "retries": 2}'] * len(names)),
            "cost_per_token": decimals(np.array([p.cost_per_token for p in catalog.PROVIDERS]), 10, 8),
            "rate_limit_config": pa.array(['{"requests_per_minute": 3000}'] * len(names)),
            "status": pa.array([p.status for p in catalog.PROVIDERS]),
            "created_at": timestamps(since + np.arange(len(names)) * DAY),
        }
    )
    models = pa.table(
        {
            "id": text(model_ids),
            "provider_id": text(provider_ids[[names.index(m.provider) for m in catalog.MODELS]]),
            "name": pa.array([m.name for m in catalog.MODELS]),
            "version": pa.array([m.version for m in catalog.MODELS]),
            "context_window": pa.array([m.context_window for m in catalog.MODELS], pa.int32()),
            "max_tokens": pa.array([m.max_tokens for m in catalog.MODELS], pa.int32()),
            "cost_per_input_token": decimals(_INPUT_PRICE, 10, 8),
            "cost_per_output_token": decimals(_OUTPUT_PRICE, 10, 8),
            "capabilities": pa.array(['{"chat": true, "streaming": true}'] * len(catalog.MODELS)),
            "status": pa.array([m.status for m in catalog.MODELS]),
        }
    )
    return providers, models, model_ids


def templates_table(rng: np.random.Generator, gens: Generations, model_ids: np.ndarray, history: Window) -> pa.Table:
    """Templates with their usage counts and average ratings as the generations imply."""
    k = len(catalog.TEMPLATES)
    usage = np.bincount(gens.template, minlength=k)
    rated = gens.rating > 0
    rating_sum = np.bincount(gens.template[rated], weights=gens.rating[rated], minlength=k).astype(np.int64)
    rating_count = np.bincount(gens.template[rated], minlength=k)
    # round(sum / count, 2) half up, in hundredths, without floats
    average = (200 * rating_sum + rating_count) // np.maximum(2 * rating_count, 1)
    created = history.start - 30 * DAY + np.arange(k) * HOUR
    return pa.table(
        {
            "id": text(uuids(rng, k)),
            "name": pa.array([t[0] for t in catalog.TEMPLATES]),
            "description": pa.array([f"{t[1].title()} helper" for t in catalog.TEMPLATES]),
            "category": pa.array([t[1] for t in catalog.TEMPLATES]),
            "genre": pa.array([t[2] for t in catalog.TEMPLATES], pa.string()),
            "system_prompt": pa.array([SYSTEM_PROMPT] * k),
            "user_prompt_template": pa.array([t[3] for t in catalog.TEMPLATES]),
            "variables": pa.array(['["genre", "chapter", "topic"]'] * k),
            "default_model_id": text(model_ids[rng.integers(0, len(model_ids), k)]),
            "default_parameters": pa.array(['{"temperature": 0.7}'] * k),
            "usage_count": integers(usage),
            "average_rating": decimals(average, 3, 2, null=rating_count == 0),
            "created_by": pa.nulls(k, pa.string()),
            "created_at": timestamps(created),
            "updated_at": timestamps(created),
            "is_public": booleans(np.ones(k, dtype=bool)),
        }
    )
