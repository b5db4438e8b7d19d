"""What to extract: the entries of `queries/staging/sources.yml`, and the PostgreSQL text that reads each one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from pipelines.queries import QUERIES_DIR, sql_file
from pipelines.yaml_files import read_yaml

SOURCES_FILE = QUERIES_DIR / "staging" / "sources.yml"
STRATEGIES = ("full", "xmin")


@dataclass(frozen=True)
class SourceTable:
    name: str  # the staged table: staging.<name>
    source: str  # schema.table in the operational database
    key: str
    strategy: str  # one of STRATEGIES
    columns: tuple[str, ...]  # source columns, read as they are (and published to the slot)
    pii: bool = False
    # Columns computed in PostgreSQL from columns that never leave the source (a prompt's fingerprint), by the
    # table's own select in `queries/source/computed/<name>.sql`: `select {columns}, <expression> as <computed>...`.
    computed: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()  # the source columns those expressions read: granted to the reader, never staged

    @property
    def staged_columns(self) -> tuple[str, ...]:
        """The staged table's columns: the source ones, then the computed ones."""
        return self.columns + self.computed

    def _select(self, columns: tuple[str, ...]) -> sql.Composed:
        listed = sql.SQL(", ").join(sql.Identifier(column) for column in columns)
        if not self.computed:
            return sql.SQL("select {columns} from {table}").format(columns=listed, table=self.source_identifier)
        # Our own declared file, composed as SQL: the only placeholder is the column list.
        return sql.SQL(sql_file(f"source/computed/{self.name}").strip().rstrip(";")).format(columns=listed)

    @property
    def source_identifier(self) -> sql.Identifier:
        return sql.Identifier(*self.source.split("."))

    def select(self, *, changed_since_xid: int | None = None) -> str:
        """PostgreSQL text reading only the listed columns; with `changed_since_xid`, only rows written since.

        The xid is an integer our own code computed from `meta.extract_state`, so composing it as a literal is
        safe, and it has to be: `postgres_query` runs the text as is, it cannot bind parameters on the far side.
        """
        query = self._select(self.columns)
        if changed_since_xid is not None:
            # xmin is 32 bits and wraps; the caller only asks within one xid epoch, where plain order is right.
            query += sql.SQL(" where xmin::text::bigint >= {xid}").format(xid=sql.Literal(changed_since_xid))
        return query.as_string(None)

    def select_computed(self) -> str:
        """The key and computed columns of the rows whose key is in `%(keys)s`, bound as an array literal of unknown
        type (`array_literal`): PostgreSQL types it as the key's array, so the lookup uses the key's index."""
        query = self._select((self.key,)) + sql.SQL(" where {key} = any(%(keys)s)").format(key=sql.Identifier(self.key))
        return query.as_string(None)

    def select_keys(self) -> str:
        return (
            sql.SQL("select {key} from {table}")
            .format(key=sql.Identifier(self.key), table=self.source_identifier)
            .as_string(None)
        )

    def count_rows(self) -> str:
        return sql.SQL("select count(*) as n from {table}").format(table=self.source_identifier).as_string(None)


def load_tables(path: Path = SOURCES_FILE) -> list[SourceTable]:
    """Every staged table, in file order; a malformed entry fails loudly with its name."""
    entries = read_yaml(path)["tables"]
    tables = []
    for name, entry in entries.items():
        if entry.get("strategy") not in STRATEGIES:
            raise ValueError(f"{path}: table {name}: strategy must be one of {STRATEGIES}")
        if entry["key"] not in entry["columns"]:
            raise ValueError(f"{path}: table {name}: key {entry['key']!r} must be one of its columns")
        tables.append(
            SourceTable(
                name=name,
                source=entry["source"],
                key=entry["key"],
                strategy=entry["strategy"],
                columns=tuple(entry["columns"]),
                pii=bool(entry.get("pii", False)),
                computed=tuple(entry.get("computed", ())),
                reads=tuple(entry.get("reads", ())),
            )
        )
    return tables


def array_literal(values: list[str]) -> str:
    """A PostgreSQL array literal of `values`, each quoted (`{"a","b"}`)."""
    quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return "{" + ",".join(quoted) + "}"
