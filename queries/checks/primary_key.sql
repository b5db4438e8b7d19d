-- The primary key of one table as SQLAlchemy reflects it (pipelines/quality/validation.py, WarehouseDialect): its
-- columns and its name; no row when it has none. No schema: the connection's current one.
select
    constraint_column_names as columns,
    constraint_name as name
from duckdb_constraints()
where
    database_name = current_database()
    and schema_name = coalesce($1, current_schema())
    and table_name = $2
    and constraint_type = 'PRIMARY KEY'
