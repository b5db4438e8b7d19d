-- A freshness check's observed value when it may be no older than $floor (its bound): the newest value of its column
-- among the values at or after the bound, the same as the newest of all whenever there is one; DuckDB reads only the
-- row groups whose statistics reach the bound. NULL when none does (newest_value.sql then reads the whole column).
-- The table is named by the parameter ('schema.table'), the column by its quoted identifier.
select max({column}) as newest
from query_table($table)
where {column} >= $floor
