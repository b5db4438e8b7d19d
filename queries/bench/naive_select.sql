-- The naive peer's query for pandas.read_sql: the extract's own select; :row_limit is bound (NULL = every row).
-- No order by: the bench times reading the rows, not which rows.
{select} limit :row_limit  -- noqa: AM09
