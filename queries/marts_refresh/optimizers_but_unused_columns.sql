-- DuckDB's optimizers but the removal of unused columns (and the column lifetime pass it relies on): disabled while
-- a mart is planned to learn which columns of its inputs it reads (pipelines/transform/runner.py).
select name from duckdb_optimizers()
where name not in ('unused_columns', 'column_lifetime')
