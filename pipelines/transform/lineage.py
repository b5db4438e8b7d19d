"""Lineage: which tables each mart, history table and the write-back is built from, read from their SQL.

The references come from DuckDB's own parser (`json_serialize_sql`: every base table a query names, CTEs
excluded), so the lineage is the SQL and cannot drift from it. The publish gate uses it to hold back only what
a failed check reaches (docs/quality.md, "The gate"); the dashboards use it to name the checks behind a page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pipelines.queries import sql_file
from pipelines.sql_tree import base_tables, nodes, parse
from pipelines.transform.changes import HOUSE_SCHEMAS
from pipelines.transform.history import COMPLETIONS_TABLE, load_entities
from pipelines.transform.runner import load_models

# The write-back of analytics.project_metrics (queries/writeback/project_metrics.sql) reads the warehouse: a node
# of its own, held back like a mart. (content.content_statistics is computed from the source's text, not from here.)
WRITEBACK = "writeback.project_metrics"


def tables_read(sql: str) -> frozenset[str]:
    """The `schema.table` names (schemas staging, history, marts) a SELECT statement reads."""
    return frozenset(
        f"{node['schema_name']}.{node['table_name']}"
        for node in base_tables(parse(sql))
        if node.get("schema_name") in HOUSE_SCHEMAS
    )


# What makes a statement's result change with nothing it reads changing: the clock and chance. `current_date` and
# its kin parse as column references, the others as function calls.
_CLOCK_COLUMNS = frozenset({"current_date", "current_time", "current_timestamp", "localtime", "localtimestamp"})
_VOLATILE_FUNCTIONS = frozenset({"now", "today", "get_current_timestamp", "get_current_time", "random", "uuid"})


def _reads_clock_or_chance(node: dict[str, Any]) -> bool:
    if node.get("class") == "FUNCTION":
        return str(node.get("function_name")).lower() in _VOLATILE_FUNCTIONS
    names = node.get("column_names") if node.get("class") == "COLUMN_REF" else None
    return isinstance(names, list) and len(names) == 1 and str(names[0]).lower() in _CLOCK_COLUMNS


@cache
def every_table_read(sql: str) -> frozenset[tuple[str, str]] | None:
    """Every `(schema, table)` a SELECT statement reads, all in the schemas staging, history and marts; None when its
    result may change though they do not: it reads something else too (a table named without its schema that is
    none of its CTEs, a `meta` table), the clock or chance, or it does not parse."""
    try:
        tree = parse(sql)
    except ValueError:
        return None
    every = list(nodes(tree))
    if any(_reads_clock_or_chance(node) for node in every):
        return None
    ctes = {entry["key"] for node in every if "cte_map" in node for entry in node["cte_map"]["map"]}
    found: set[tuple[str, str]] = set()
    for node in every:
        if node.get("type") != "BASE_TABLE":
            continue
        schema, table = node.get("schema_name") or "", node["table_name"]
        if schema in HOUSE_SCHEMAS and not node.get("catalog_name"):
            found.add((schema, table))
        elif schema or table not in ctes:
            return None
    return frozenset(found)


@dataclass(frozen=True)
class Lineage:
    reads: Mapping[str, frozenset[str]]  # built table -> the tables its SQL reads directly

    @property
    def marts(self) -> list[str]:
        """Every mart, unqualified, in name order."""
        return sorted(name.removeprefix("marts.") for name in self.reads if name.startswith("marts."))

    def upstream(self, table: str) -> set[str]:
        """Every table `table` is built from, transitively (staging tables are where it ends)."""
        seen: set[str] = set()
        pending = list(self.reads.get(table, ()))
        while pending:
            name = pending.pop()
            if name not in seen:
                seen.add(name)
                pending.extend(self.reads.get(name, ()))
        return seen

    def held_back(self, failed: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
        """What failed checks hold back: each mart (and the write-back) that is, or is built from, a table with a
        failed check, mapped to those checks' names. `failed`: table -> names of its failed checks.

        History tables are never held back: like staging they are the state the next run builds on (docs/quality.md).
        """
        held: dict[str, list[str]] = {}
        for table in sorted(self.reads):
            if table.startswith("history."):
                continue
            reached = ({table} | self.upstream(table)) & failed.keys()
            if reached:
                held[table] = sorted(check for name in reached for check in failed[name])
        return held


def _history_reads() -> dict[str, frozenset[str]]:
    reads = {f"history.{entity.name}": tables_read(entity.sql) for entity in load_entities()}
    completions = f"history.{COMPLETIONS_TABLE}"
    reads[completions] = tables_read(sql_file(f"history/{COMPLETIONS_TABLE}")) - {completions}
    return reads


@cache
def lineage() -> Lineage:
    """The lineage of every mart, history table and the write-back, from their SQL files."""
    reads = _history_reads()
    for model in load_models():
        name = f"marts.{model.name}"
        reads[name] = tables_read(model.sql) - {name}
    reads[WRITEBACK] = tables_read(sql_file("writeback/project_metrics"))
    return Lineage(reads)


def consumed_tables() -> set[str]:
    """The staged tables some mart or the write-back is built from: a defect anywhere else changes no published
    figure (docs/quality.md, "Severities")."""
    graph = lineage()
    return {name for built in graph.reads for name in graph.upstream(built) if name.startswith("staging.")}
