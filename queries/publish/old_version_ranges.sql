-- The old versions of a net change ({delta}, from delta.sql) as up to $ranges ranges of one date or time column
-- ({column}): split at the widest gaps between its values of at least $min_gap_seconds, so a day's updates of recent
-- rows and one late change of an old row make two narrow ranges, not one over the whole history. Each range's ends,
-- and their text as DuckLake keeps file statistics.
with old_values as (
    select distinct changed.{column} as value
    from {delta} as changed
    where changed._version = 'old'
),

gaps as (
    select
        value,
        epoch(value::timestamptz) - epoch(lag(value) over (order by value)::timestamptz) as gap_before
    from old_values
),

range_starts as (
    -- the first value (no gap before it) and those after the widest gaps wide enough
    select
        value,
        row_number() over (order by gap_before desc nulls first) <= $ranges
        and coalesce(gap_before >= $min_gap_seconds, true) as starts_range
    from gaps
),

numbered as (
    select
        value,
        sum(starts_range::int) over (order by value) as range_number
    from range_starts
),

final as (
    select
        min(value) as low,
        max(value) as high,
        min(value)::varchar as low_text,
        max(value)::varchar as high_text
    from numbered
    group by range_number
)

select * from final
order by low
