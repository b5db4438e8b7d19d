-- A freshness check's observed value (pipelines/quality/bounds.py): the newest value of its column. The
-- table is named by the parameter ('schema.table'), the column by its quoted identifier.
select max({column}) as newest
from query_table($table)
