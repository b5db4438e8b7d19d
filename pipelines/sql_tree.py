"""DuckDB's own parse tree of a SQL statement (`json_serialize_sql`), without binding it: the tables a statement
names are read from it by the lineage (`pipelines.transform.lineage`) and by the dashboards' readers
(`pipelines.publish.lake.tables_read`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import duckdb


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    """An empty in-memory database that only parses: starting one costs 20 ms, a cursor of it next to nothing (the
    lineage parses some fifty statements). One thread: parsing has nothing to run in parallel, and a process that
    forks after reading the lineage should not hold idle worker threads."""
    return duckdb.connect(config={"threads": 1})


def parse(sql: str) -> Any:
    """DuckDB's parse tree of a statement; a ValueError when it does not parse."""
    con = _parser().cursor()  # a cursor per call: callers may be on different threads
    try:
        row = con.execute("select json_serialize_sql($sql)", {"sql": sql}).fetchone()
    finally:
        con.close()
    tree = json.loads(row[0]) if row else {}
    if tree.get("error"):
        raise ValueError(f"cannot parse SQL: {tree.get('error_message')}")
    return tree


def nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every node of a parse tree, depth first."""
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from nodes(value)


def base_tables(tree: Any) -> Iterator[dict[str, Any]]:
    """The nodes of the tables a parse tree names (CTEs among them: a name without a schema may be one)."""
    return (node for node in nodes(tree) if node.get("type") == "BASE_TABLE")
