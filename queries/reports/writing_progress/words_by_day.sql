-- Net words written per UTC day (growth of each project's word count since its previous active day), content
-- versions created and writers active, for projects of the chosen genres.
with progress as (
    select * from marts.writing_progress_daily
),

final as (
    select
        day,
        sum(words_written) as words_written,
        sum(versions_created) as versions_created,
        count(distinct owner_id) as active_writers
    from progress
    where day between $start and $end
      and picked($genres, genre)
    group by day
    order by day
)

select * from final
