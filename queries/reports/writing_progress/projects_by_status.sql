-- Projects of the chosen genres by their current status (as of the snapshot, whatever the date range).
with projects as (
    select * from staging.projects
),

final as (
    select status, count(*) as projects
    from projects
    where picked($genres, coalesce(genre, 'unknown'))
    group by status
    order by projects desc, status asc
)

select * from final
