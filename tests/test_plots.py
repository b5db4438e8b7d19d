"""`dashboards.plots` draws the figures Plotly Express drew for the same arguments (the traces, their names, order,
values and hover templates, the axis and legend titles, the bar mode), which `charts.read_right` reads."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import pytest

from dashboards import plots

# Two providers over two days, b first seen on the second row; a milestone funnel's rows by segment.
FRAME = pd.DataFrame(
    {
        "day": [date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 2)],
        "provider": ["b", "a", "b"],
        "ai_cost": [1.5, 2.0, 3.25],
        "ai_tokens": [10, 20, 30],
        "step": ["signed up", "first chapter", "signed up"],
        "segment": ["Basic", "Basic", "Pro"],
    }
)
# What the pages draw (their argument combinations), each with Express and with `plots`.
DRAWN: dict[str, Callable[[object], go.Figure]] = {
    "bars by colour": lambda m: m.bar(FRAME, x="day", y="ai_cost", color="provider"),
    "one bar series": lambda m: m.bar(FRAME, x="day", y="ai_cost"),
    "bars of columns, grouped": lambda m: m.bar(FRAME, x="day", y=["ai_cost", "ai_tokens"], barmode="group"),
    "horizontal bars": lambda m: m.bar(FRAME, x="ai_tokens", y="step", orientation="h"),
    "labelled horizontal bars by colour": lambda m: m.bar(
        FRAME,
        x="ai_tokens",
        y="step",
        color="segment",
        orientation="h",
        barmode="group",
        labels={"ai_tokens": "users reached", "step": "milestone"},
    ),  # fmt: skip
    "one line": lambda m: m.line(FRAME, x="day", y="ai_cost"),
    "lines of columns": lambda m: m.line(FRAME, x="day", y=["ai_cost", "ai_tokens"]),
    "lines by colour, marked": lambda m: m.line(FRAME, x="day", y="ai_cost", color="provider", markers=True),
}


def _shape(figure: go.Figure) -> dict:
    """The figure without what `charts` sets itself (colours, margins) or Plotly fills in (template, axis anchors,
    each trace's default axes), its numbers as numbers (Express melts a wide `y` into one float column)."""
    spec = json.loads(figure.to_json())
    layout = {key: value for key, value in spec["layout"].items() if key not in ("template", "margin")}
    for axis in ("xaxis", "yaxis"):
        layout[axis] = {key: value for key, value in layout[axis].items() if key not in ("anchor", "domain")}
    traces = [
        {key: _values(value) for key, value in trace.items() if key not in ("marker", "line", "xaxis", "yaxis")}
        for trace in spec["data"]
    ]
    return {"data": traces, "layout": layout}


def _values(value: object) -> object:
    """A typed array of the figure's JSON (`{"dtype": "f8", "bdata": ...}`) as its numbers."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype("float64").tolist()
    return value


@pytest.mark.parametrize("drawn", DRAWN)
def test_plots_draw_what_plotly_express_drew(drawn: str) -> None:
    assert _shape(DRAWN[drawn](plots)) == _shape(DRAWN[drawn](px))


def test_a_bar_per_colour_in_order_of_first_appearance() -> None:
    figure = plots.bar(FRAME, x="day", y="ai_cost", color="provider")
    assert [(trace.name, list(trace.y)) for trace in figure.data] == [("b", [1.5, 3.25]), ("a", [2.0])]
    assert figure.data[0].hovertemplate == "provider=b<br>day=%{x}<br>ai_cost=%{y}<extra></extra>"
    assert (figure.layout.xaxis.title.text, figure.layout.legend.title.text) == ("day", "provider")
