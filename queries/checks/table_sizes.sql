-- Rows per table (DuckDB's estimate, exact for tables without deletes): decides only where a suite's column
-- checks run (an in-memory batch for small tables, SQL for large ones), never what they find.
select
    schema_name || '.' || table_name as qualified_name,
    estimated_size as row_count
from duckdb_tables()
