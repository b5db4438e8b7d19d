"""Bar and line figures of a frame, laid out as Plotly Express lays them out, made from graph objects directly.

Plotly Express spends 30-85 ms on a chart of a few dozen rows (it regroups the frame, builds a grid of subplots and
sets each trace's properties one at a time through Plotly's validators); the same traces made directly take 2-9 ms.
A page draws a handful of charts per publication and filter: Express was a quarter of a page's first render.

The figures keep Express's shape, which `charts.read_right` reads: one trace per value of `color` (in order of first
appearance) or per column of a list `y` (wide form), each trace's hover template naming the column on each axis
(`day=%{x}<br>ai_cost=%{y}`), and the axes titled by their columns. Facets and heatmaps stay with Express (one chart
each)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pandas as pd
import plotly.graph_objects as go

WIDE_NAME, WIDE_VALUE = "variable", "value"  # how Express names a wide `y`'s columns and their values


def bar(
    frame: pd.DataFrame,
    x: str,
    y: str | list[str],
    *,
    color: str | None = None,
    orientation: str = "v",
    barmode: str = "relative",
    text: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Bars of `y` over `x` (`orientation="h"`: of `x` along the categories `y`), one series per `color` or per
    column of a list `y` (upright); `labels` rename columns in hover text and titles, as Express's do."""
    names = dict(labels or {})
    traces = [
        go.Bar(
            **series,
            orientation=orientation,
            text=None if text is None else rows[text],
            textposition="auto",
            # grouped bars keep one slot per series, as Express places them
            **({"offsetgroup": series["name"], "alignmentgroup": "True"} if barmode == "group" else {}),
        )
        for rows, series in _series(frame, x, y, color, names)
    ]
    return _figure(traces, x, y, color, names).update_layout(barmode=barmode)


def line(
    frame: pd.DataFrame, x: str, y: str | list[str], *, color: str | None = None, markers: bool = False
) -> go.Figure:
    """Lines of `y` over `x`, one series per `color` or per column of a list `y`."""
    traces = [
        go.Scatter(**series, mode="lines+markers" if markers else "lines", orientation="v")
        for _rows, series in _series(frame, x, y, color, {})
    ]
    return _figure(traces, x, y, color, {})


def _series(
    frame: pd.DataFrame, x: str, y: str | list[str], color: str | None, names: dict[str, str]
) -> Iterator[tuple[pd.DataFrame, dict[str, object]]]:
    """Each series' rows and the trace properties bars and lines share (values, name, legend, hover template), as
    Express splits them."""

    def series(name: str, rows: pd.DataFrame, column: str, heading: str, y_name: str) -> dict[str, object]:
        fields = [f"{names.get(x, x)}=%{{x}}", f"{y_name}=%{{y}}"]
        hover = "<br>".join([heading, *fields] if heading else fields) + "<extra></extra>"
        shown = {"name": name, "legendgroup": name, "showlegend": bool(name), "hovertemplate": hover}
        return {"x": rows[x], "y": rows[column], **shown}

    if isinstance(y, list):  # wide form: a series per column
        for column in y:
            yield frame, series(column, frame, column, f"{WIDE_NAME}={column}", WIDE_VALUE)
    elif color is None:
        yield frame, series("", frame, y, "", names.get(y, y))
    else:
        for value, rows in frame.groupby(color, sort=False, dropna=False):
            yield rows, series(str(value), rows, y, f"{names.get(color, color)}={value}", names.get(y, y))


def _figure(
    traces: list[go.Bar] | list[go.Scatter], x: str, y: str | list[str], color: str | None, names: dict[str, str]
) -> go.Figure:
    wide = isinstance(y, list)
    legend = WIDE_NAME if wide else None if color is None else names.get(color, color)
    return go.Figure(
        data=traces,
        layout={
            "xaxis": {"title": {"text": names.get(x, x)}},
            "yaxis": {"title": {"text": WIDE_VALUE if wide else names.get(y, y)}},
            "legend": {"title": {"text": legend}, "tracegroupgap": 0},
        },
    )
