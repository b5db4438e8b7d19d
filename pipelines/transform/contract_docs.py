"""Renders `docs/data-contract.md` from the mart contracts, so the documentation cannot drift from the checks.

Regenerate after editing a `queries/marts/*.yml`: `python -m pipelines.transform.contract_docs`.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.declared_checks import ColumnCheck
from pipelines.transform.contracts import MartContract, Refresh, load_contracts

# A development tool: it writes into the checkout this module was imported from.
REPO_ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = REPO_ROOT / "docs" / "data-contract.md"

HEADER = """\
# Data contract: the marts

Generated from `queries/marts/*.yml` by `python -m pipelines.transform.contract_docs`; do not edit by hand.

Every mart lives in schema `marts` of the published warehouse. Days and months are UTC calendar days and months;
money is DECIMAL (never floating point). Checks marked *error* block publishing; *warn* publishes with a banner.
Reconciliations compare a mart total with the staged source's total and must match exactly.

**Refresh** says what an incremental run rebuilds (docs/etl.md, "Incremental marts"): nothing when no input changed;
*whole*: the whole mart; *by day* / *by month*: only the periods the changed input rows (old and new versions) reach
through the expressions listed, widened by the lookback, and for a spine (a row for every day) the days it gains at
either end; *by key*: only the rows whose key column holds a value the changed input rows reach through the
expressions listed. A changed input not listed, or a mart that binds a parameter or reads `meta`, refreshes whole.
"""


def _cell(text: str) -> str:
    """Markdown table cells cannot hold pipes or line breaks."""
    return " ".join(text.split()).replace("|", "\\|")


def _check_text(check: ColumnCheck) -> str:
    if check.kind == "accepted_values":
        text = "one of " + ", ".join(f"`{value}`" for value in check.args)
    elif check.kind == "range":
        bounds = []
        if check.args.get("min") is not None:
            bounds.append(f">= {check.args['min']}")
        if check.args.get("max") is not None:
            bounds.append(f"<= {check.args['max']}")
        text = " and ".join(bounds)
    else:
        text = check.kind.replace("_", " ")
    return f"{text} ({check.severity})" if check.severity != "error" else text


def _refresh_text(refresh: Refresh) -> str:
    if refresh.by == "whole":
        return "whole"
    text = f"by {refresh.by} of `{refresh.column}`"
    if refresh.lookback:
        text += f", lookback {refresh.lookback} {refresh.by}s"
    if refresh.spine:
        text += ", with the days it gains at either end (spine)"
    inputs = "; ".join(f"`{name}`: `{_cell(expression)}`" for name, expression in refresh.inputs)
    return f"{text}; inputs {inputs}" if inputs else text


def render_contract(contract: MartContract) -> str:
    lines = [
        f"## `marts.{contract.name}`",
        "",
        _cell(contract.description),
        "",
        f"**Grain:** {_cell(contract.grain)}  ",
        f"**Key:** {', '.join(f'`{column}`' for column in contract.unique_key)}  ",
        f"**Refresh:** {_refresh_text(contract.refresh)}",
        "",
        "| column | type | meaning | checks |",
        "|---|---|---|---|",
    ]
    for column in contract.columns:
        checks = "; ".join(_check_text(check) for check in column.checks)
        lines.append(f"| `{column.name}` | {column.type} | {_cell(column.description)} | {_cell(checks)} |")
    if contract.checks:
        lines += ["", "Table checks (must hold on every row):", ""]
        lines += [f"- `{check.name}` ({check.severity}): `{_cell(check.expect)}`" for check in contract.checks]
    if contract.reconcile:
        lines += ["", "Reconciliations (mart total = source total):", ""]
        lines += [f"- `{r.name}` ({r.severity}): `{_cell(r.mart)}` = `{_cell(r.source)}`" for r in contract.reconcile]
    return "\n".join(lines) + "\n"


def render(contracts: list[MartContract]) -> str:
    index = ["| mart | grain |", "|---|---|"]
    index += [f"| [`{c.name}`](#marts{c.name}) | {_cell(c.grain)} |" for c in contracts]
    sections = [render_contract(contract) for contract in contracts]
    return "\n".join([HEADER, *index, "", *sections])


def main() -> None:
    DOC_PATH.write_text(render(load_contracts()))
    print(f"wrote {DOC_PATH.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
