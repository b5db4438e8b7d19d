"""The seeded period and the rhythms of activity inside it: growth, weekdays and hours of the day (UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from pipelines.source.seed.columns import DAY, HOUR

# Monday .. Sunday: writers work more on weekdays.
WEEKDAY_WEIGHT = np.array([1.10, 1.15, 1.12, 1.05, 0.95, 0.70, 0.78])
# UTC hours 0..23: a global audience with the Americas and Europe dominating.
HOUR_WEIGHT = np.array(
    [
        3.0,
        2.6,
        2.0,
        1.6,
        1.3,
        1.2,
        1.5,
        2.2,
        3.0,
        3.6,
        4.0,
        4.2,
        4.4,
        4.8,
        5.2,
        5.4,
        5.3,
        5.0,
        4.6,
        4.3,
        4.1,
        4.0,
        3.8,
        3.4,
    ]
)
_EPOCH_MONDAY_OFFSET = 3  # 1970-01-01 was a Thursday


def to_us(day: date) -> int:
    """Midnight UTC of `day` in microseconds since the epoch."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000


@dataclass(frozen=True)
class Window:
    """[start, end) in microseconds: from midnight of the first day to midnight after the last day, UTC."""

    start: int
    end: int

    @classmethod
    def of_days(cls, first: date, last: date) -> Window:
        return cls(to_us(first), to_us(last) + DAY)

    @property
    def days(self) -> int:
        return (self.end - self.start) // DAY

    @property
    def first_day(self) -> date:
        return datetime.fromtimestamp(self.start // 1_000_000, UTC).date()


def weekday(us: np.ndarray) -> np.ndarray:
    """0 = Monday .. 6 = Sunday."""
    return (us // DAY + _EPOCH_MONDAY_OFFSET) % 7


def daily_weights(window: Window, growth: float) -> np.ndarray:
    """Relative activity of each day: exponential growth over the window (x `growth` end to end) x weekday."""
    day_index = np.arange(window.days)
    trend = np.exp(np.log(growth) * day_index / max(window.days - 1, 1))
    weights: np.ndarray = trend * WEEKDAY_WEIGHT[weekday(window.start + day_index * DAY)]
    return weights


def times_on_days(rng: np.random.Generator, window: Window, day_index: np.ndarray) -> np.ndarray:
    """A moment on each given day of the window, at an hour drawn from the daily rhythm."""
    hours = rng.choice(24, size=len(day_index), p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    return window.start + day_index * DAY + hours * HOUR + rng.integers(0, HOUR, size=len(day_index))


def reshape_to_rhythm(rng: np.random.Generator, us: np.ndarray, earliest: np.ndarray, latest: int) -> np.ndarray:
    """Move uniformly drawn moments to an hour from the daily rhythm on the same day, and a third of weekend
    moments back to the Friday: kept within [earliest, latest)."""
    day_start = us - us % DAY
    moved = times_on_days(rng, Window(0, 0), day_start // DAY)
    weekend = (weekday(moved) >= 5) & (rng.random(len(us)) < 0.3)
    moved = np.where(weekend, moved - (weekday(moved) - 4) * DAY, moved)
    kept: np.ndarray = np.clip(moved, earliest, latest - 1)
    return kept
