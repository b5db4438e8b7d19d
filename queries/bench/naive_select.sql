-- The naive peer's query for pandas.read_sql: the extract's own select; :row_limit is bound (NULL = every row).
{select} limit :row_limit
