"""DuckDB mart SQL to Spark SQL: SQLGlot's transpiler plus the few generic rewrites it needs for our dialect.

The marts have one source, the DuckDB models in `queries/marts/`; the Spark engine runs what this module makes of
them. Every rewrite here is generic (a function, a macro, a type rule), never a model-specific patch:
- the house macros of `queries/macros/` are expanded in place (Spark has no macros);
- DuckDB functions SQLGlot leaves as they are map to their Spark equivalents (`_FUNCTIONS`);
- `quantile_cont(x, p)` is Spark's exact `percentile(x, p)`, row values `(a, b)` are `struct(a, b)`;
- `arg_max(x, y)` skips rows where x is NULL, Spark's `max_by` does not: it orders by y only where x is not NULL;
  `arg_max_null` keeps them, as `max_by` does (and `arg_min`, `arg_min_null` alike);
- DuckDB's infinite timestamps are its int64 extremes in microseconds, and so in Parquet: Spark carries them as
  they are and compares them rightly, so `'infinity'::timestamptz` is that timestamp and `isinf(t)` tests for it
  (arithmetic on them overflows in Spark, a loud error where DuckDB would stay infinite);
- `to_days(n)` is `make_dt_interval(n)`;
- `date_diff(unit, a, b)` counts the unit's boundaries between a and b in DuckDB, whole units elapsed in Spark:
  the same count between a and b truncated to the unit;
- an ASOF join (the latest right row at or before the left one) is an ordinary join on the right rows' intervals
  up to the next right row of the same keys;
- `cast(unnest(list) as T)` casts the list to `array<T>` (Spark refuses a generator nested in an expression);
- `date - date` is a whole number of days in DuckDB but an interval in Spark: with the column types known
  (SQLGlot's type annotation over the warehouse's schema), it becomes `datediff(end, start)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
    ("make_timestamptz", 1): "timestamp_micros",  # Spark's timestamps are instants, as DuckDB's timestamptz
    ("arg_max_null", 2): "max_by",
    ("arg_min_null", 2): "min_by",
}

# Units whose boundaries date_diff counts, as whole units between the times truncated to them (not weeks: DuckDB's
# week boundaries are not date_trunc's Mondays).
_BOUNDARY_UNITS = {"MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "MONTH", "QUARTER", "YEAR"}

# DuckDB's 'infinity' and '-infinity' timestamps in microseconds since the epoch.
_INFINITY_US = {"infinity": 2**63 - 1, "-infinity": -(2**63 - 1)}
_TEMPORAL = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.DATE)

# ASOF join inequality (right column on the left side) -> the neighbour that bounds the right row's interval
# (`lead` for the latest at or before, `lag` for the earliest at or after) and how the left value compares with it.
_ASOF_BOUNDS: dict[type[exp.Expr], tuple[type[exp.Func], type[exp.Binary]]] = {
    exp.LTE: (exp.Lead, exp.LT),
    exp.LT: (exp.Lead, exp.LTE),
    exp.GTE: (exp.Lag, exp.GT),
    exp.GT: (exp.Lag, exp.GTE),
}
_FLIPPED: dict[type[exp.Expr], type[exp.Binary]] = {exp.LTE: exp.GTE, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.GT: exp.LT}


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
    tree = _bottom_up(tree, _asof_join)
    tree = _bottom_up(tree, _spark_function)
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", None)  # DuckDB's planning hint (`as not materialized`); Spark SQL has no syntax for it
    return tree.sql(dialect="spark", pretty=True, comments=False)


def spark_type(duckdb_type: str) -> str:
    """Spark's name of a DuckDB column type (TIMESTAMP WITH TIME ZONE -> TIMESTAMP, INTEGER -> INT, ...)."""
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="spark")


def _bottom_up(tree: exp.Expr, rewrite: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """`rewrite` every node, its descendants first: a replacement is built from rewritten parts (SQLGlot's
    `transform` goes top-down and never visits inside what it replaced), and a node sees its original parent."""
    for node in reversed(list(tree.walk(bfs=False))):  # reversed pre-order: every node after its descendants
        replacement = rewrite(node)
        if replacement is not node:
            if node is tree:
                return replacement
            node.replace(replacement)
    return tree


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
    if isinstance(node, exp.ArgMax | exp.ArgMin) and not node.args.get("count"):
        # Rows whose argument is NULL get no ordering value: max_by / min_by skip them, as DuckDB's arg_max does.
        kept = exp.case().when(exp.not_(exp.Is(this=node.this.copy(), expression=exp.Null())), node.expression.copy())
        return type(node)(this=node.this.copy(), expression=kept)
    if isinstance(node, exp.Cast) and node.to.is_type(*_TEMPORAL) and node.this.is_string:
        micros = _INFINITY_US.get(node.this.name.lower())
        if micros is not None:
            return exp.Anonymous(this="timestamp_micros", expressions=[exp.Literal.number(micros)])
    if isinstance(node, exp.IsInf):
        extremes = [exp.Literal.number(micros) for micros in _INFINITY_US.values()]
        return exp.In(this=exp.Anonymous(this="unix_micros", expressions=[node.this.copy()]), expressions=extremes)
    if isinstance(node, exp.DateDiff) and node.args.get("date_part_boundary"):
        unit = node.text("unit").upper()
        if unit in _BOUNDARY_UNITS:
            later, earlier = (
                exp.TimestampTrunc(this=part.copy(), unit=exp.var(unit)) for part in (node.this, node.expression)
            )
            return exp.DateDiff(this=later, expression=earlier, unit=exp.var(unit))
    if isinstance(node, exp.ToDays):
        return exp.Anonymous(this="make_dt_interval", expressions=[node.this.copy()])
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


def _asof_join(node: exp.Expr) -> exp.Expr:
    """`l asof [left] join r on r.k = l.k and r.t <= l.t` -> `l [left] join (r with r.t's successor) as r on
    r.k = l.k and r.t <= l.t and (successor is null or l.t < successor)`: each left row meets exactly the right row
    DuckDB would pick (among right rows with equal keys and times, one of them, as in DuckDB)."""
    if not isinstance(node, exp.Join) or str(node.args.get("method") or "").upper() != "ASOF":
        return node
    right = node.this
    alias = right.alias_or_name
    conditions = list(node.args["on"].flatten()) if isinstance(node.args["on"], exp.And) else [node.args["on"]]
    keys: list[exp.Expr] = []
    inequality: tuple[exp.Column, type[exp.Expr], exp.Expr] | None = None
    for condition in conditions:
        sides = (condition.this, condition.expression)
        mine = [side for side in sides if isinstance(side, exp.Column) and side.table == alias]
        if len(mine) != 1:
            raise ValueError(f"ASOF join condition must compare one column of {alias}: {condition.sql('duckdb')}")
        if isinstance(condition, exp.EQ):
            keys.append(exp.column(mine[0].name))
        elif type(condition) in _ASOF_BOUNDS and inequality is None:
            flipped = mine[0] is condition.expression
            kind = _FLIPPED[type(condition)] if flipped else type(condition)
            other = condition.this if flipped else condition.expression
            inequality = (mine[0], kind, other)
        else:
            raise ValueError(f"unsupported ASOF join condition: {condition.sql('duckdb')}")
    if inequality is None:
        raise ValueError(f"ASOF join on {alias} without an inequality")
    column, kind, left_value = inequality
    neighbour, bound = _ASOF_BOUNDS[kind]
    window = exp.Window(
        this=neighbour(this=exp.column(column.name)),
        partition_by=keys,
        order=exp.Order(expressions=[exp.Ordered(this=exp.column(column.name))]),
    )
    successor = "_asof_bound"
    intervals = exp.select("*", exp.alias_(window, successor)).from_(right.copy())
    within = exp.or_(
        exp.Is(this=exp.column(successor, table=alias), expression=exp.Null()),
        bound(this=left_value.copy(), expression=exp.column(successor, table=alias)),
    )
    joined = node.copy()
    joined.set("method", None)
    joined.set("this", exp.Subquery(this=intervals, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    joined.set("on", exp.and_(node.args["on"].copy(), exp.Paren(this=within)))
    return joined
