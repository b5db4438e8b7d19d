"""How much history each `--scale` generates: the one table of volumes (documented in docs/seed.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    users: int  # sign-ups over the whole history
    months: int  # default months of history, ending on the end date
    generations: int  # AI generations aimed at (the simulation lands close, not exactly)
    events: int  # product events aimed at
    projects_per_user: float  # mean projects per author with at least one session


SCALES: dict[str, Scale] = {
    "tiny": Scale(users=40, months=3, generations=400, events=3_000, projects_per_user=1.5),
    "small": Scale(users=2_000, months=6, generations=20_000, events=200_000, projects_per_user=1.0),
    "medium": Scale(users=20_000, months=12, generations=400_000, events=4_000_000, projects_per_user=1.0),
    "large": Scale(users=100_000, months=18, generations=2_000_000, events=20_000_000, projects_per_user=1.0),
}
