"""Money: metered usage (AI tokens, exports, projects, storage) and authors' monthly revenue-share statements."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.source.seed.ai import COMPLETED, Generations
from pipelines.source.seed.columns import (
    DAY,
    HOUR,
    choose,
    dates,
    decimals,
    integers,
    labels,
    latest_at_or_before,
    ref,
    text,
    time_uuids,
    timestamps,
    uuids,
)
from pipelines.source.seed.people import Subscriptions
from pipelines.source.seed.timeline import Window

RESOURCE_TYPES = ("ai_tokens", "exports", "projects", "storage_mb")
EXPORT_PRICE_MICRO = 100_000  # $0.10 per export
STORAGE_PRICE_MICRO = 2_000  # $0.002 per MB per reading
STORAGE_EVERY = 2 * DAY


@dataclass
class Usage:
    user: np.ndarray
    resource: np.ndarray  # index into RESOURCE_TYPES
    quantity: np.ndarray
    unit_cost: np.ndarray  # micro-dollars
    total_cost: np.ndarray  # cents
    project: np.ndarray  # -1: NULL
    generation: np.ndarray  # -1: NULL
    day_of: np.ndarray  # µs of the moment whose UTC day is usage_date
    created: np.ndarray

    @staticmethod
    def concat(parts: list[Usage]) -> Usage:
        return Usage(*(np.concatenate([getattr(p, f) for p in parts]) for f in Usage.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.user)


def token_usage(
    user: np.ndarray,
    tokens: np.ndarray,
    cost_micro: np.ndarray,
    project: np.ndarray,
    generation: np.ndarray,
    created: np.ndarray,
    completed: np.ndarray,
) -> Usage:
    """One row per completed generation: quantity = tokens, total = cost rounded to cents (half up), unit cost =
    cost per token rounded to micro-dollars; dated on the generation's UTC day, recorded when it completed."""
    unit = (2 * cost_micro + tokens) // (2 * tokens)
    return Usage(
        user=user,
        resource=np.zeros(len(user), dtype=np.int64),
        quantity=tokens,
        unit_cost=unit,
        total_cost=(cost_micro + 5_000) // 10_000,
        project=project,
        generation=generation,
        day_of=created,
        created=completed,
    )


def generation_usage(gens: Generations) -> Usage:
    """The token usage of the completed generations (the generation's row index is its id)."""
    done = gens.status == COMPLETED
    return token_usage(
        gens.user[done],
        gens.tokens[done],
        gens.cost[done],
        gens.project[done],
        np.flatnonzero(done),
        gens.created[done],
        gens.completed[done],
    )


def flat_usage(
    resource: int, user: np.ndarray, at: np.ndarray, quantity: np.ndarray, unit_micro: int, project: np.ndarray
) -> Usage:
    n = len(user)
    return Usage(
        user=user,
        resource=np.full(n, resource),
        quantity=quantity,
        unit_cost=np.full(n, unit_micro),
        total_cost=(quantity * unit_micro + 5_000) // 10_000,
        project=project,
        generation=np.full(n, -1),
        day_of=at,
        created=at,
    )


def storage_usage(
    project_owner: np.ndarray, project_created: np.ndarray, active_end: np.ndarray, window: Window
) -> Usage:
    """A storage reading every other day at 02:00 UTC for every author with a project (projects sorted by owner
    and created), from the day after their first project while they are active: 3 MB per project plus 2 MB."""
    owners, first = np.unique(project_owner, return_index=True)
    start = project_created[first]
    first_reading = start - start % DAY + DAY + 2 * HOUR
    stop = np.minimum(active_end[owners], window.end)
    readings = np.maximum((stop - first_reading - 1) // STORAGE_EVERY + 1, 0)
    owner = np.repeat(owners, readings)
    nth = np.arange(len(owner)) - np.repeat(np.cumsum(readings) - readings, readings)
    at = np.repeat(first_reading, readings) + nth * STORAGE_EVERY
    held = latest_at_or_before(project_owner, project_created, owner, at)
    count = held - np.searchsorted(project_owner, owner) + 1
    return flat_usage(3, owner, at, 2 + 3 * count, STORAGE_PRICE_MICRO, np.full(len(owner), -1))


def usage_table(
    rng: np.random.Generator,
    usage: Usage,
    subs: Subscriptions,
    user_ids: np.ndarray,
    project_ids: np.ndarray,
    gen_ids: np.ndarray,
) -> pa.Table:
    """billing.usage_records, each row charged to the subscription the user had at the time."""
    billable = subs.billable()
    sub = latest_at_or_before(billable.user, billable.created, usage.user, usage.day_of)
    if len(billable.ids):
        cancelled = billable.cancelled[np.maximum(sub, 0)]
        # Between a cancellation and the next plan nothing is charged to a plan.
        sub = np.where((sub >= 0) & (cancelled >= 0) & (cancelled <= usage.day_of), -1, sub)
    return pa.table(
        {
            "id": text(time_uuids(rng, usage.created)),
            "user_id": text(user_ids[usage.user]),
            "subscription_id": ref(billable.ids, sub),
            "resource_type": labels(RESOURCE_TYPES, usage.resource),
            "quantity": integers(usage.quantity),
            "unit_cost": decimals(usage.unit_cost, 10, 6),
            "total_cost": decimals(usage.total_cost, 10, 2),
            "project_id": ref(project_ids, usage.project),
            "ai_generation_id": ref(gen_ids, usage.generation),
            "usage_date": dates(usage.day_of),
            "created_at": timestamps(usage.created),
        }
    )


def month_floor(us: np.ndarray) -> np.ndarray:
    """Midnight UTC on the first of the month of each timestamp."""
    months = us.astype("datetime64[us]").astype("datetime64[M]")
    return months.astype("datetime64[us]").astype(np.int64)


def revenue_shares_table(
    rng: np.random.Generator,
    owner: np.ndarray,
    published: np.ndarray,
    project_ids: np.ndarray,
    user_ids: np.ndarray,
    window: Window,
) -> pa.Table:
    """A statement per published book and calendar month after publication, issued a few days after the month
    ends; sales decay from a launch peak. platform = round(sales x rate, 2) half up, author = sales - platform."""
    books = np.flatnonzero(published >= 0)
    first = month_floor(published[books])
    months = (window.end - first) // (28 * DAY) + 2  # an upper bound; months not yet issued are dropped below
    book = np.repeat(books, months)
    nth = np.arange(len(book)) - np.repeat(np.cumsum(months) - months, months)
    period = np.repeat(first, months).astype("datetime64[us]").astype("datetime64[M]") + nth
    start = period.astype("datetime64[us]").astype(np.int64)
    end = (period + 1).astype("datetime64[us]").astype(np.int64)
    issued = end + rng.integers(1, 6, len(book)) * DAY + rng.integers(8, 18, len(book)) * HOUR
    keep = issued < window.end
    book, nth, start, end, issued = book[keep], nth[keep], start[keep], end[keep], issued[keep]
    n = len(book)

    popularity = rng.lognormal(np.log(150), 1.1, len(published))[book]
    live_share = np.clip((end - np.maximum(start, published[book])) / (end - start), 0, 1)
    sales = popularity * np.exp(-nth / 8) * rng.lognormal(0, 0.3, n) * live_share
    sales_cents = np.where(rng.random(n) < 0.05, 0, np.round(sales * 100)).astype(np.int64)
    rate_bp = np.array([1000, 1500, 2000])[choose(rng, (0.8, 0.12, 0.08), len(published))][book]
    platform = (sales_cents * rate_bp + 5_000) // 10_000
    author = sales_cents - platform

    age = window.end - issued
    roll = rng.random(n)
    paid_at = issued + rng.integers(3, 20, n) * DAY
    status = np.where(age > 30 * DAY, np.where(roll < 0.03, 3, 2), np.where(roll < 0.6, 0, 1))
    status = np.where((status == 2) & (paid_at >= window.end), 1, status)
    method = labels(
        (
            '{"type": "bank_transfer", "iban_last4": "4321"}',
            '{"type": "paypal", "email": "masked"}',
            '{"type": "stripe_connect", "account": "acct_masked"}',
        ),
        rng.integers(0, 3, n),
    )
    return pa.table(
        {
            "id": text(uuids(rng, n)),
            "user_id": text(user_ids[owner[book]]),
            "project_id": text(project_ids[book]),
            "book_sales": decimals(sales_cents, 15, 2),
            "platform_commission_rate": decimals(rate_bp, 5, 4),
            "user_revenue": decimals(author, 15, 2),
            "platform_revenue": decimals(platform, 15, 2),
            "payout_status": labels(("pending", "processing", "paid", "failed"), status),
            "payout_date": timestamps(paid_at, null=status != 2),
            "payout_method": method,
            "revenue_period_start": dates(start),
            "revenue_period_end": dates(end - DAY),
            "created_at": timestamps(issued),
        }
    )
