-- How many rows of a lake table's data files ($schema.$table, from lake_file_stats.sql) each candidate column's ranges
-- over the old versions reach ($columns, a column once per range, with the $lows and $highs as text, compared as
-- numbers where $numeric): a file reaches a range unless its minimum and maximum rule it out (a file without
-- statistics always reaches it). Within a file reached, DuckDB skips the row groups ($row_group_rows each) whose
-- statistics rule every range out, but only for columns whose values follow the order rows were written in
-- ($clustered: creation times, days) and only for some types (never UUIDs): of such a file, each range reaches its
-- share of the file's span, rounded out to whole row groups, one more for the edges.
-- A choice of filter only: the delete then applies the ranges exactly, so an approximate comparison here (text order
-- for dates and times, doubles for decimals, spans as if spread evenly) costs at most a file read, never a row.
with file_stats as (
    select
        *,
        -- a date or time as seconds; NULL for any other type
        epoch(try_cast(min_value as timestamptz)) as min_second,
        epoch(try_cast(max_value as timestamptz)) as max_second
    from temp.lake_file_stats
    where schema_name = $schema and table_name = $table
),

ranges as (
    select
        unnest($columns) as column_name,
        unnest($lows) as low,
        unnest($highs) as high,
        unnest($numeric) as numeric,
        unnest($clustered) as clustered
),

ranges_in_seconds as (
    select
        *,
        epoch(try_cast(low as timestamptz)) as low_second,
        epoch(try_cast(high as timestamptz)) as high_second
    from ranges
),

files_reached as (
    select
        ranges.column_name,
        file_stats.data_file_id,
        file_stats.record_count,
        case
            when ranges.numeric
                then
                    try_cast(file_stats.max_value as double) >= try_cast(ranges.low as double)
                    and try_cast(file_stats.min_value as double) <= try_cast(ranges.high as double)
            else file_stats.max_value >= ranges.low and file_stats.min_value <= ranges.high
        end as reached,
        case
            when ranges.clustered
                then
                    (
                        least(ranges.high_second, file_stats.max_second)
                        - greatest(ranges.low_second, file_stats.min_second)
                    )
                    / nullif(file_stats.max_second - file_stats.min_second, 0)
        end as span_share
    from ranges_in_seconds as ranges
    inner join file_stats on ranges.column_name = file_stats.column_name
),

files_by_column as (
    select
        column_name,
        data_file_id,
        any_value(record_count) as record_count,
        bool_or(reached is not false) as reached,
        sum(
            (ceil(greatest(coalesce(span_share, 1), 0) * record_count / $row_group_rows) + 1) * $row_group_rows
        ) filter (where reached is not false) as rows_in_ranges
    from files_reached
    group by column_name, data_file_id
),

final as (
    select
        column_name,
        coalesce(sum(least(record_count, rows_in_ranges)) filter (where reached), 0) as rows_reached,
        sum(record_count) as rows_in_files
    from files_by_column
    group by column_name
)

select * from final
