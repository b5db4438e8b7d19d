with versions as (
    select * from staging.content_versions
),

ai_versions as (
    select
        -- created_at::date under TimeZone UTC, without the time-zone library's per-row conversion (10x faster)
        utc_day(created_at) as day,
        word_count
    from versions
    where change_type in ('ai_generation', 'ai_revision')
),

final as (
    select
        day,
        count(*) as versions,
        sum(coalesce(word_count, 0))::bigint as words
    from ai_versions
    group by day
)

select * from final
