-- How many rows of a lake table's data files ($schema.$table, from lake_file_stats.sql) each candidate column's range
-- over the old versions reaches ($columns with their $lows and $highs as text, compared as numbers where $numeric): a
-- file reaches a range unless its minimum and maximum rule it out (a file without statistics always reaches it).
-- A choice of filter only: the delete then applies the range exactly, so an approximate comparison here (text order
-- for dates and times, doubles for decimals) costs at most a file read, never a row.
with file_stats as (
    select * from temp.lake_file_stats
    where schema_name = $schema and table_name = $table
),

ranges as (
    select
        unnest($columns) as column_name,
        unnest($lows) as low,
        unnest($highs) as high,
        unnest($numeric) as numeric
),

files_reached as (
    select
        ranges.column_name,
        file_stats.record_count,
        case
            when ranges.numeric
                then
                    try_cast(file_stats.max_value as double) >= try_cast(ranges.low as double)
                    and try_cast(file_stats.min_value as double) <= try_cast(ranges.high as double)
            else file_stats.max_value >= ranges.low and file_stats.min_value <= ranges.high
        end as reached
    from ranges
    inner join file_stats on ranges.column_name = file_stats.column_name
),

final as (
    select
        column_name,
        coalesce(sum(record_count) filter (where reached is not false), 0) as rows_reached,
        sum(record_count) as rows_in_files
    from files_reached
    group by column_name
)

select * from final
