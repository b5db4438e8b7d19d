"""How the dashboards write numbers: money stays Decimal until it becomes text, counts and rates as people read them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dashboards.charts import COST_PLACES, count, money, percent

pytestmark = pytest.mark.fast


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (Decimal("1234.56"), 2, "$1,234.56"),
        (Decimal("1234567"), 2, "$1,234,567.00"),
        (Decimal("-1234.5"), 2, "-$1,234.50"),  # the sign before the currency
        (Decimal("0.061"), 2, "$0.06"),
        (Decimal("0.0123456"), COST_PLACES, "$0.0123"),  # AI costs keep four places
        (Decimal("0.000049"), COST_PLACES, "$0.0000"),
        (0.1, 2, "$0.10"),  # a float goes through its shortest repr, not its binary expansion
        (7, 2, "$7.00"),
    ],
)
def test_money(value: object, places: int, text: str) -> None:
    assert money(value, places) == text


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_missing_values_show_a_dash(missing: object) -> None:
    assert money(missing) == count(missing) == percent(missing) == "—"


def test_counts_and_percentages() -> None:
    assert count(1234567) == "1,234,567"
    assert count(12.0) == "12"
    assert percent(0.1234) == "12.3%"
    assert percent(0.5, places=0) == "50%"
