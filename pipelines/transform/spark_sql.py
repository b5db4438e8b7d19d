"""DuckDB mart SQL to Spark SQL: SQLGlot's transpiler plus the few generic rewrites it needs for our dialect.

The marts have one source, the DuckDB models in `queries/marts/`; the Spark engine runs what this module makes of
them. Every rewrite here is generic (a function, a macro, a type rule), never a model-specific patch:
- the house macros of `queries/macros/` are expanded in place (Spark has no macros);
- DuckDB functions SQLGlot leaves as they are map to their Spark equivalents (`_FUNCTIONS`);
- `quantile_cont(x, p)` is Spark's exact `percentile(x, p)`, row values `(a, b)` are `struct(a, b)`;
- `cast(unnest(list) as T)` casts the list to `array<T>` (Spark refuses a generator nested in an expression);
- `date - date` is a whole number of days in DuckDB but an interval in Spark: with the column types known
  (SQLGlot's type annotation over the warehouse's schema), it becomes `datediff(end, start)`.
"""

from __future__ import annotations

import re
from functools import cache

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from pipelines import warehouse

# {schema: {table: {column: DuckDB type}}}
Schema = dict[str, dict[str, dict[str, str]]]

_MACRO = re.compile(
    r"create\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?macro\s+(\w+)\s*\(([^)]*)\)\s+as\s+(.*)", re.I | re.S
)

# DuckDB function -> (Spark function, how many arguments it takes there); DuckDB's name is SQLGlot's Anonymous.
_FUNCTIONS = {
    ("epoch_us", 1): "unix_micros",
    ("make_timestamp", 1): "timestamp_micros",  # the one-argument form: microseconds since the epoch
}


@cache
def macros() -> dict[str, tuple[list[str], exp.Expr]]:
    """The house macros (`pipelines.warehouse.macros`) as name -> (parameters, body)."""
    parsed: dict[str, tuple[list[str], exp.Expr]] = {}
    for text in warehouse.macros():
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        match = _MACRO.search(body)
        if match is None:
            raise ValueError(f"not a macro definition: {text[:80]!r}")
        name, parameters, expression = (str(group) for group in match.groups())
        names = [parameter.strip().lower() for parameter in parameters.split(",") if parameter.strip()]
        parsed[name.lower()] = (names, sqlglot.parse_one(expression.strip().rstrip(";"), read="duckdb"))
    return parsed


def to_spark(sql: str, schema: Schema) -> str:
    """The Spark SQL of one DuckDB model; `schema` holds the columns of every table the model reads."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(_expand_macro)
    tables = MappingSchema(dict(schema), dialect="duckdb")
    tree = qualify(tree, schema=tables, dialect="duckdb", validate_qualify_columns=False, identify=False)
    tree = _days_between_dates(tree, tables)
    tree = tree.transform(_spark_function)
    return tree.sql(dialect="spark", pretty=True, comments=False)


def spark_type(duckdb_type: str) -> str:
    """Spark's name of a DuckDB column type (TIMESTAMP WITH TIME ZONE -> TIMESTAMP, INTEGER -> INT, ...)."""
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="spark")


def _expand_macro(node: exp.Expr) -> exp.Expr:
    if not isinstance(node, exp.Anonymous) or str(node.this).lower() not in macros():
        return node
    parameters, body = macros()[str(node.this).lower()]
    if len(parameters) != len(node.expressions):
        raise ValueError(f"macro {node.this} takes {len(parameters)} arguments, got {len(node.expressions)}")
    arguments = dict(zip(parameters, node.expressions, strict=True))

    def substitute(inner: exp.Expr) -> exp.Expr:
        if isinstance(inner, exp.Column) and not inner.table and inner.name.lower() in arguments:
            return exp.Paren(this=arguments[inner.name.lower()].copy())
        return inner

    return body.copy().transform(substitute).transform(_expand_macro)


def _days_between_dates(tree: exp.Expr, schema: MappingSchema) -> exp.Expr:
    """`a - b` of two DATEs (an integer in DuckDB) as `datediff(a, b)`, innermost first, retyping after each."""
    while True:
        annotate_types(tree, schema=schema, dialect="duckdb")
        found = next(
            (
                node
                for node in tree.find_all(exp.Sub, bfs=False)
                if _is_date(node.this)
                and _is_date(node.expression)
                and not any(
                    _is_date(n.this) and _is_date(n.expression) for n in node.find_all(exp.Sub) if n is not node
                )
            ),
            None,
        )
        if found is None:
            return tree
        days = exp.DateDiff(this=found.this.copy(), expression=found.expression.copy(), unit=exp.var("DAY"))
        replacement = exp.Paren(this=days)
        if found is tree:
            return replacement
        found.replace(replacement)


def _is_date(node: exp.Expr) -> bool:
    return node.type is not None and node.type.is_type(exp.DataType.Type.DATE)


def _spark_function(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Anonymous):
        spark_name = _FUNCTIONS.get((str(node.this).lower(), len(node.expressions)))
        if spark_name:
            return exp.Anonymous(this=spark_name, expressions=node.expressions)
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
    if isinstance(node, exp.Tuple) and isinstance(node.parent, exp.Func):
        return exp.Struct(expressions=node.expressions)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Explode | exp.Unnest):
        return _cast_inside(node)
    return node


def _cast_inside(cast: exp.Cast) -> exp.Expr:
    """`cast(explode(list) as T)` -> `explode(cast(list as array<T>))`."""
    generator = cast.this
    inner = generator.expressions[0] if isinstance(generator, exp.Unnest) else generator.this
    array_type = exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[cast.to.copy()], nested=True)
    return exp.Explode(this=exp.Cast(this=inner.copy(), to=array_type))
