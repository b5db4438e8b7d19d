-- A writing day: a UTC day on which the user saved a content version (changed_by: owners and collaborators alike)
-- or recorded a chapter_edit event.
with versions as (
    select * from marts.version_facts
),

events as (
    select * from staging.user_events
),

version_writing as (
    select
        changed_by as user_id,
        day,
        1 as versions,
        0 as chapter_edits
    from versions
    where changed_by is not null
),

edit_writing as (
    select
        user_id,
        utc_day("timestamp") as day,
        0 as versions,
        1 as chapter_edits
    from events
    where event_type = 'chapter_edit' and user_id is not null
),

writing as (
    select * from version_writing
    union all
    select * from edit_writing
),

final as (
    select
        day,
        user_id,
        sum(versions)::bigint as versions,
        sum(chapter_edits)::bigint as chapter_edits
    from writing
    group by day, user_id
    order by day
)

select * from final
