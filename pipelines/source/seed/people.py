"""Who uses the platform: sign-ups, logins (auth methods, sessions), subscriptions and organisations."""

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
    decimals,
    hex_text,
    join,
    labels,
    random_text,
    text,
    time_uuids,
    timestamps,
    uuids,
)
from pipelines.source.seed.timeline import Window, daily_weights, reshape_to_rhythm, times_on_days

USER_STATUSES = ("active", "suspended", "deleted")
AUTH_METHODS = ("password", "google", "microsoft", "apple", "github")
SUBSCRIPTION_STATUSES = ("active", "past_due", "cancelled", "unpaid", "incomplete")
ACTIVE, PAST_DUE, CANCELLED, UNPAID, INCOMPLETE = range(5)
BILLING_EVENTS = ("subscription_start", "subscription_cancel", "payment_failed", "checkout_abandoned")
_CYCLE_LENGTH = {"monthly": 30 * DAY, "yearly": 365 * DAY, "one-time": 100 * 365 * DAY}
PLAN_TIER = np.array([catalog.TIERS.index(plan.tier) for plan in catalog.PLANS])
_PLAN_CYCLE = np.array([_CYCLE_LENGTH[plan.billing_cycle] for plan in catalog.PLANS])
_ONE_TIME = np.array([plan.billing_cycle == "one-time" for plan in catalog.PLANS])
_PLAN_PRICE = np.array([plan.price_cents for plan in catalog.PLANS])
_PAID_PLANS = np.array([i for i, plan in enumerate(catalog.PLANS) if plan.weight > 0])
_PAID_WEIGHTS = [catalog.PLANS[i].weight for i in _PAID_PLANS]
_BCRYPT_ALPHABET = np.frombuffer(b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)


@dataclass
class Users:
    ids: np.ndarray  # S36
    number: np.ndarray  # sequence number over the platform's life: makes usernames and emails unique
    created: np.ndarray  # µs
    active_end: np.ndarray  # µs: the user stops coming back here (beyond the window: still active)
    intensity: np.ndarray  # how much this person writes, relative (lognormal around 1)
    status: np.ndarray  # index into USER_STATUSES

    def __len__(self) -> int:
        return len(self.ids)


def new_users(rng: np.random.Generator, count: int, window: Window, first_number: int, growth: float) -> Users:
    """`count` sign-ups over the window, growing `growth`-fold with weekday and hourly rhythms, in signup order."""
    weights = daily_weights(window, growth)
    created = np.sort(times_on_days(rng, window, rng.choice(window.days, size=count, p=weights / weights.sum())))
    # A third try the product for a few days; the rest stay for months.
    lifetime = np.where(rng.random(count) < 0.3, rng.exponential(4, count), rng.exponential(240, count))
    active_end = created + (lifetime * DAY).astype(np.int64) + HOUR
    churned = active_end < window.end - 30 * DAY
    roll = rng.random(count)
    status = np.where(churned & (roll < 0.12), 2, np.where(churned & (roll > 0.96), 1, 0))
    return Users(
        ids=time_uuids(rng, created),
        number=np.arange(first_number, first_number + count),
        created=created,
        active_end=active_end,
        intensity=rng.lognormal(0, 0.8, count),
        status=status,
    )


def primary_auth_methods(rng: np.random.Generator, count: int) -> np.ndarray:
    """Index into AUTH_METHODS of each user's first way of signing in."""
    return choose(rng, (0.62, 0.22, 0.05, 0.07, 0.04), count)


def users_table(
    rng: np.random.Generator,
    users: Users,
    primary_method: np.ndarray,
    tier: np.ndarray,
    last_login: np.ndarray,
    window: Window,
) -> pa.Table:
    """users.users; last_login < 0 means never logged in."""
    n = len(users)
    first = labels(catalog.FIRST_NAMES, rng.integers(0, len(catalog.FIRST_NAMES), n))
    last = labels(catalog.LAST_NAMES, rng.integers(0, len(catalog.LAST_NAMES), n))
    number = pc.cast(pa.array(users.number), pa.string())
    domain = labels(catalog.EMAIL_DOMAINS, rng.integers(0, len(catalog.EMAIL_DOMAINS), n))
    username = pc.utf8_lower(join(first, last, number))
    # Fake bcrypt-shaped strings: real hashing would cost seconds per thousand users and protects nothing here.
    password_hash = join("$2b$12$", text(random_text(rng, n, 53, _BCRYPT_ALPHABET), null=primary_method != 0))
    verified = rng.random(n) < 0.85
    verified_at = np.minimum(users.created + (rng.exponential(2, n) * HOUR).astype(np.int64), window.end - 1)
    has_avatar = pa.array(rng.random(n) < 0.4)
    left = users.status > 0
    updated = np.maximum.reduce(
        [
            users.created,
            last_login,
            np.where(left, np.minimum(users.active_end, window.end - 1), 0),
        ]
    )
    preferences = labels(
        ("{}", '{"theme": "dark"}', '{"autosave": true, "theme": "light"}'), choose(rng, (0.5, 0.3, 0.2), n)
    )
    return pa.table(
        {
            "id": text(users.ids),
            "email": pc.utf8_lower(join(first, ".", last, ".", number, "@", domain)),
            "username": username,
            "password_hash": password_hash,
            "first_name": first,
            "last_name": last,
            "avatar_url": pc.if_else(has_avatar, join("https://avatars.example.com/", username, ".png"), None),
            "email_verified": booleans(verified),
            "email_verified_at": timestamps(verified_at, null=~verified),
            "preferences": preferences,
            "timezone": labels([t for t, _ in catalog.TIMEZONES], choose(rng, [w for _, w in catalog.TIMEZONES], n)),
            "language": labels([t for t, _ in catalog.LANGUAGES], choose(rng, [w for _, w in catalog.LANGUAGES], n)),
            "status": labels(USER_STATUSES, users.status),
            "tier": labels(catalog.TIERS, tier),
            "created_at": timestamps(users.created),
            "updated_at": timestamps(updated),
            "last_login_at": timestamps(np.maximum(last_login, 0), null=last_login < 0),
        }
    )


def auth_methods_table(rng: np.random.Generator, users: Users, primary_method: np.ndarray, window: Window) -> pa.Table:
    """One primary method per user, a second one for a fifth of them; oauth methods carry a fake external id."""
    n = len(users)
    second = rng.random(n) < 0.2
    other = (primary_method + rng.integers(1, len(AUTH_METHODS), n)) % len(AUTH_METHODS)
    added = users.created + (rng.exponential(30, n) * DAY).astype(np.int64)
    second &= added < np.minimum(users.active_end, window.end)
    user = np.concatenate([np.arange(n), np.flatnonzero(second)])
    method = np.concatenate([primary_method, other[second]])
    created = np.concatenate([users.created, added[second]])
    rows = len(user)
    # The user's sequence number inside the id keeps (method, external_id) unique, as the schema requires.
    number = pc.cast(pa.array(users.number[user]), pa.string())
    digits = text(random_text(rng, rows, 10, np.frombuffer(b"0123456789", dtype=np.uint8)))
    external = pc.choose(
        pa.array(method, pa.int8()),
        pa.nulls(rows, pa.string()),
        join("1", digits, number),  # google: numeric subject
        join(text(hex_text(rng, rows, 16)), "-", number),  # microsoft: object id
        join("001", number, ".", text(hex_text(rng, rows, 32)), ".0420"),  # apple: team-scoped id
        join(number, digits),  # github: numeric user id
    )
    return pa.table(
        {
            "id": text(uuids(rng, rows)),
            "user_id": text(users.ids[user]),
            "method_type": labels(AUTH_METHODS, method),
            "external_id": external,
            "is_primary": booleans(np.arange(rows) < n),
            "created_at": timestamps(created),
        }
    )


@dataclass
class Sessions:
    ids: np.ndarray
    user: np.ndarray  # index into Users; sessions are sorted by (user, start)
    start: np.ndarray
    end: np.ndarray
    ip: pa.Array
    agent: np.ndarray  # index into catalog.USER_AGENTS

    def __len__(self) -> int:
        return len(self.ids)


def new_sessions(
    rng: np.random.Generator,
    user_count: int,
    active_from: np.ndarray,
    active_until: np.ndarray,
    weight: np.ndarray,
    target: int,
    first_at: np.ndarray | None,
    window: Window,
    home_ip: pa.Array,
) -> Sessions:
    """About `target` sessions spread over each user's active span in proportion to weight x span length.

    `first_at` (optional) is a session every user starts right after signing up (-1: none).
    """
    span_days = np.maximum(active_until - active_from, 0) / DAY
    share = weight * span_days
    expected = target * share / max(share.sum(), 1e-9)
    count = rng.poisson(expected)
    user = np.repeat(np.arange(user_count), count)
    start = active_from[user] + (rng.random(len(user)) * (active_until - active_from)[user]).astype(np.int64)
    start = reshape_to_rhythm(rng, start, active_from[user], window.end)
    if first_at is not None:
        starters = np.flatnonzero(first_at >= 0)
        user = np.concatenate([starters, user])
        start = np.concatenate([first_at[starters], start])
    order = np.lexsort((start, user))
    user, start = user[order], start[order]
    n = len(user)
    duration = np.minimum(rng.lognormal(np.log(20 * MINUTE), 0.9, n), 6 * HOUR).astype(np.int64) + MINUTE
    end = np.minimum(start + duration, window.end - 1)
    roaming = rng.random(n) < 0.15
    ip = pc.if_else(pa.array(roaming), random_ips(rng, n), home_ip.take(pa.array(user)))
    return Sessions(
        ids=time_uuids(rng, start),
        user=user,
        start=start,
        end=end,
        ip=ip,
        agent=rng.integers(0, len(catalog.USER_AGENTS), n),
    )


def random_ips(rng: np.random.Generator, count: int) -> pa.Array:
    """Fake client addresses from the shared address space 100.64.0.0/10 (never routed on the internet)."""
    octets = [
        pc.cast(pa.array(rng.integers(low, high, count)), pa.string()) for low, high in ((64, 128), (0, 256), (1, 255))
    ]
    return join("100.", octets[0], ".", octets[1], ".", octets[2])


def sessions_table(rng: np.random.Generator, sessions: Sessions, user_ids: np.ndarray) -> pa.Table:
    n = len(sessions)
    remember = rng.random(n) < 0.6
    expires = sessions.start + np.where(remember, 30 * DAY, DAY)
    return pa.table(
        {
            "id": text(sessions.ids),
            "user_id": text(user_ids[sessions.user]),
            "session_token": text(hex_text(rng, n, 64)),
            "ip_address": sessions.ip,
            "user_agent": labels(catalog.USER_AGENTS, sessions.agent),
            "expires_at": timestamps(expires),
            "created_at": timestamps(sessions.start),
        }
    )


@dataclass
class Subscriptions:
    """Rows sorted by (user, created)."""

    ids: np.ndarray
    user: np.ndarray
    plan: np.ndarray
    status: np.ndarray
    created: np.ndarray
    cancelled: np.ndarray  # -1: not cancelled
    trial_end: np.ndarray  # -1: no trial

    def tier_of_users(self, user_count: int) -> np.ndarray:
        """Each user's tier now: the plan of their latest live (not cancelled, not incomplete) subscription."""
        tier = np.zeros(user_count, dtype=np.int64)
        live = (self.status != CANCELLED) & (self.status != INCOMPLETE)
        tier[self.user[live]] = PLAN_TIER[self.plan[live]]  # later rows overwrite earlier ones
        return tier

    def billable(self) -> Subscriptions:
        """The subscriptions usage can be charged to (incomplete checkouts never became one)."""
        keep = self.status != INCOMPLETE
        return Subscriptions(
            *(getattr(self, f)[keep] for f in ("ids", "user", "plan", "status", "created", "cancelled", "trial_end"))
        )


def new_subscriptions(rng: np.random.Generator, users: Users, window: Window) -> Subscriptions:
    """Free or trial plan at signup, upgrades, trial drop-outs, churn, voluntary cancels, dunning, checkouts."""
    n = len(users)
    stop = np.minimum(users.active_end, window.end)
    paid_start = rng.random(n) < 0.16 * np.clip(users.intensity, 0.5, 2.0)
    first_plan = np.where(paid_start, _PAID_PLANS[choose(rng, _PAID_WEIGHTS, n)], catalog.FREE_PLAN)
    trial = paid_start & ~_ONE_TIME[first_plan] & (rng.random(n) < 0.7)
    trial_end = np.where(trial, users.created + 14 * DAY, -1)
    drops_trial = trial & (rng.random(n) < 0.35) & (trial_end < stop)

    upgrade_at = users.created + (rng.exponential(35, n) * DAY).astype(np.int64)
    upgrades = ~paid_start & (rng.random(n) < 0.22 * np.clip(users.intensity, 0.5, 2.0)) & (upgrade_at < stop)
    upgrade_plan = _PAID_PLANS[choose(rng, _PAID_WEIGHTS, n)]

    checkout_at = users.created + (rng.random(n) * (stop - users.created)).astype(np.int64)
    abandons = rng.random(n) < 0.03

    # Rows: A = the signup plan, B = the upgrade, C = an abandoned checkout.
    user = np.concatenate([np.arange(n), np.flatnonzero(upgrades), np.flatnonzero(abandons)])
    plan = np.concatenate([first_plan, upgrade_plan[upgrades], _PAID_PLANS[choose(rng, _PAID_WEIGHTS, abandons.sum())]])
    created = np.concatenate([users.created, upgrade_at[upgrades], checkout_at[abandons]])
    trial_end = np.concatenate([trial_end, np.full(upgrades.sum() + abandons.sum(), -1)])
    is_checkout = np.arange(len(user)) >= n + upgrades.sum()

    cancelled = np.full(len(user), -1, dtype=np.int64)
    a = np.arange(n)
    cancelled[a[drops_trial]] = trial_end[a[drops_trial]]
    cancelled[a[upgrades]] = upgrade_at[upgrades]
    paid = plan != catalog.FREE_PLAN
    voluntary = created + (rng.exponential(150, len(user)) * DAY).astype(np.int64)
    voluntary_cancel = paid & ~is_checkout & (rng.random(len(user)) < 0.15) & (voluntary < stop[user])
    churn_cancel = (paid | (users.status[user] == 2)) & ~is_checkout & (users.active_end[user] < window.end)
    open_rows = cancelled < 0
    cancelled = np.where(open_rows & voluntary_cancel, voluntary, cancelled)
    open_rows = cancelled < 0
    cancelled = np.where(open_rows & churn_cancel, np.maximum(users.active_end[user], created + MINUTE), cancelled)
    cancelled = np.where(cancelled >= window.end, -1, cancelled)

    roll = rng.random(len(user))
    status = np.full(len(user), ACTIVE)
    dunning = paid & ~_ONE_TIME[plan] & (cancelled < 0) & ~is_checkout
    status[dunning & (roll < 0.05)] = PAST_DUE
    status[dunning & (roll >= 0.05) & (roll < 0.06)] = UNPAID
    status[cancelled >= 0] = CANCELLED
    status[is_checkout] = INCOMPLETE

    order = np.lexsort((created, user))
    return Subscriptions(
        ids=uuids(rng, len(user))[order],
        user=user[order],
        plan=plan[order],
        status=status[order],
        created=created[order],
        cancelled=cancelled[order],
        trial_end=trial_end[order],
    )


def subscriptions_table(
    rng: np.random.Generator, subs: Subscriptions, user_ids: np.ndarray, plan_ids: np.ndarray, window: Window
) -> pa.Table:
    n = len(subs.ids)
    cycle = _PLAN_CYCLE[subs.plan]
    until = np.where(subs.cancelled >= 0, subs.cancelled, window.end - 1)
    periods = np.where(subs.status == INCOMPLETE, 0, np.maximum(until - subs.created, 0) // cycle)
    period_start = subs.created + periods * cycle
    period_end = period_start + cycle
    bills = np.isin(subs.status, (ACTIVE, PAST_DUE, UNPAID)) & ~_ONE_TIME[subs.plan] & (subs.plan != catalog.FREE_PLAN)
    updated = np.minimum(np.maximum.reduce([subs.created, subs.cancelled, period_start]), window.end - 1)
    free = subs.plan == catalog.FREE_PLAN
    return pa.table(
        {
            "id": text(subs.ids),
            "user_id": text(user_ids[subs.user]),
            "plan_id": text(plan_ids[subs.plan]),
            "stripe_subscription_id": join("sub_", text(random_text(rng, n, 24)[:], null=free)),
            "status": labels(SUBSCRIPTION_STATUSES, subs.status),
            "current_period_start": timestamps(period_start),
            "current_period_end": timestamps(period_end),
            "trial_end": timestamps(np.maximum(subs.trial_end, 0), null=subs.trial_end < 0),
            "next_billing_date": timestamps(period_end, null=~bills),
            "amount": decimals(_PLAN_PRICE[subs.plan], 10, 2),
            "currency": labels(("USD",), np.zeros(n, dtype=np.int64)),
            "created_at": timestamps(subs.created),
            "updated_at": timestamps(updated),
            "cancelled_at": timestamps(np.maximum(subs.cancelled, 0), null=subs.cancelled < 0),
        }
    )


def billing_events(subs: Subscriptions, window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, time, index into BILLING_EVENTS) of the billing events the subscriptions imply."""
    paid = (subs.plan != catalog.FREE_PLAN) & (subs.status != INCOMPLETE)
    cancel = paid & (subs.cancelled >= 0)
    dunning = (subs.status == PAST_DUE) | (subs.status == UNPAID)
    cycle = _PLAN_CYCLE[subs.plan]
    failed_at = subs.created + np.maximum(window.end - 1 - subs.created, 0) // cycle * cycle
    checkout = subs.status == INCOMPLETE
    user = np.concatenate([subs.user[paid], subs.user[cancel], subs.user[dunning], subs.user[checkout]])
    at = np.concatenate([subs.created[paid], subs.cancelled[cancel], failed_at[dunning], subs.created[checkout]])
    kind = np.repeat(np.arange(4), [paid.sum(), cancel.sum(), dunning.sum(), checkout.sum()])
    return user, at, kind


def plans_table(rng: np.random.Generator, window: Window) -> tuple[pa.Table, np.ndarray]:
    ids = uuids(rng, len(catalog.PLANS))
    plans = catalog.PLANS
    return pa.table(
        {
            "id": text(ids),
            "name": pa.array([p.name for p in plans]),
            "description": pa.array([f"{p.tier.title()} tier, billed {p.billing_cycle}" for p in plans]),
            "price": decimals(np.array([p.price_cents for p in plans]), 10, 2),
            "billing_cycle": pa.array([p.billing_cycle for p in plans]),
            "features": pa.array(
                [f'{{"ai_tokens": {p.ai_tokens_included}, "projects": {p.projects_limit}}}' for p in plans]
            ),
            "ai_tokens_included": pa.array([p.ai_tokens_included for p in plans], pa.int32()),
            "projects_limit": pa.array([p.projects_limit for p in plans], pa.int32()),
            "collaborators_limit": pa.array([p.collaborators_limit for p in plans], pa.int32()),
            "export_formats": pa.array(["{pdf}" if p.tier == "free" else "{pdf,epub,docx,mobi}" for p in plans]),
            "status": pa.array([p.status for p in plans]),
            "created_at": timestamps(np.full(len(plans), window.start - 90 * DAY)),
        }
    ), ids


@dataclass
class Organizations:
    ids: np.ndarray
    owner: np.ndarray
    created: np.ndarray
    member_user: np.ndarray  # memberships, owners included
    member_org: np.ndarray
    member_joined: np.ndarray


def new_organizations(rng: np.random.Generator, users: Users, tier: np.ndarray, window: Window) -> Organizations:
    """Teams: a share of premium and enterprise customers own an organisation with a few members."""
    candidates = np.flatnonzero((tier >= 2) & (rng.random(len(users)) < np.where(tier == 3, 0.7, 0.15)))
    if len(candidates) == 0:  # tiny histories still get one team to show
        candidates = np.array([int(np.argmax(users.intensity))])
    created = np.minimum(
        users.created[candidates] + (rng.exponential(10, len(candidates)) * DAY).astype(np.int64), window.end - HOUR
    )
    sizes = np.where(tier[candidates] == 3, 3 + rng.poisson(6, len(candidates)), 1 + rng.poisson(2, len(candidates)))
    org = np.repeat(np.arange(len(candidates)), sizes)
    member = rng.integers(0, len(users), len(org))
    joined = np.maximum(created[org], users.created[member]) + (rng.exponential(3, len(org)) * DAY).astype(np.int64)
    keep = (joined < window.end) & (member != candidates[org])
    org, member, joined = org[keep], member[keep], joined[keep]
    _, first = np.unique(org * len(users) + member, return_index=True)  # a person joins a team once
    org = np.concatenate([np.arange(len(candidates)), org[first]])
    member = np.concatenate([candidates, member[first]])
    joined = np.concatenate([created, joined[first]])
    return Organizations(
        ids=uuids(rng, len(candidates)),
        owner=candidates,
        created=created,
        member_user=member,
        member_org=org,
        member_joined=joined,
    )


def organization_tables(rng: np.random.Generator, orgs: Organizations, user_ids: np.ndarray) -> tuple[pa.Table, ...]:
    n = len(orgs.ids)
    name = join(
        labels(catalog.TITLE_ADJECTIVES, rng.integers(0, len(catalog.TITLE_ADJECTIVES), n)),
        " ",
        labels(catalog.TITLE_NOUNS, rng.integers(0, len(catalog.TITLE_NOUNS), n)),
        " ",
        labels(("Press", "Studio", "Writers", "Publishing", "Collective"), rng.integers(0, 5, n)),
    )
    organizations = pa.table(
        {
            "id": text(orgs.ids),
            "name": name,
            "description": join("Writing team of ", name),
            "owner_id": text(user_ids[orgs.owner]),
            "settings": labels(('{"default_visibility": "organization"}',), np.zeros(n, dtype=np.int64)),
            "created_at": timestamps(orgs.created),
        }
    )
    m = len(orgs.member_user)
    role = np.where(np.arange(m) < n, 0, 1 + choose(rng, (0.1, 0.4, 0.15, 0.35), m))
    members = pa.table(
        {
            "id": text(uuids(rng, m)),
            "organization_id": text(orgs.ids[orgs.member_org]),
            "user_id": text(user_ids[orgs.member_user]),
            "role": labels(("owner", "admin", "editor", "viewer", "member"), role),
            "joined_at": timestamps(orgs.member_joined),
        }
    )
    return organizations, members


def last_login(sessions: Sessions, user_count: int) -> np.ndarray:
    """Each user's latest session start, -1 when none."""
    latest = np.full(user_count, -1, dtype=np.int64)
    np.maximum.at(latest, sessions.user, sessions.start)
    return latest
