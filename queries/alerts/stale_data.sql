-- Ages in hours: each activity table's newest row before the snapshot, and the publication before now.
with publication as (
    select snapshot_at from meta.publication
),

newest as (
    select
        'staging.ai_generations' as subject,
        max(created_at) as newest_at
    from staging.ai_generations
    union all
    select
        'staging.usage_records' as subject,
        max(created_at) as newest_at
    from staging.usage_records
    union all
    select
        'staging.user_events' as subject,
        max("timestamp") as newest_at
    from staging.user_events
),

ages as (
    select
        newest.subject,
        epoch(publication.snapshot_at - newest.newest_at) / 3600 as hours
    from newest
    cross join publication
    union all
    select
        'publication' as subject,
        epoch($now::timestamptz - snapshot_at) / 3600 as hours
    from publication
),

final as (
    select
        subject,
        round(hours, 1)::decimal(18, 6) as value,
        $threshold::decimal(18, 6) as threshold,
        null::varchar as "window",
        null::varchar as detail
    from ages
    where hours > $threshold
)

select * from final
