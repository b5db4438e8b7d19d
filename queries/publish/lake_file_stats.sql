-- Every live data file's per-column minimum and maximum, as DuckLake's catalog ({catalog}: the lake's metadata
-- database) keeps them, with the file's row count: what a delete's bounds are chosen by (bounds_reach.sql).
with schemas as (
    select schema_id, schema_name from {catalog}.ducklake_schema
    where end_snapshot is null
),

tables as (
    select table_id, schema_id, table_name from {catalog}.ducklake_table
    where end_snapshot is null
),

data_files as (
    select data_file_id, table_id, record_count from {catalog}.ducklake_data_file
    where end_snapshot is null
),

table_columns as (
    select column_id, table_id, column_name from {catalog}.ducklake_column
    where end_snapshot is null and parent_column is null
),

file_column_stats as (
    select data_file_id, column_id, min_value, max_value from {catalog}.ducklake_file_column_stats
),

final as (
    select
        schemas.schema_name,
        tables.table_name,
        table_columns.column_name,
        data_files.data_file_id,
        data_files.record_count,
        file_column_stats.min_value,
        file_column_stats.max_value
    from tables
    inner join schemas on tables.schema_id = schemas.schema_id
    inner join data_files on tables.table_id = data_files.table_id
    inner join table_columns on tables.table_id = table_columns.table_id
    left join file_column_stats
        on
        data_files.data_file_id = file_column_stats.data_file_id
        and table_columns.column_id = file_column_stats.column_id
)

select * from final
