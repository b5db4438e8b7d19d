-- Active writers (owners of projects that got a content version) and net words written, in the period and in
-- the previous one, for projects of the chosen genres. Words written: growth of each project's word count.
with progress as (
    select * from marts.writing_progress_daily
),

chosen as (
    select * from progress
    where picked($genres, genre)
),

final as (
    select
        count(distinct owner_id) filter (where day between $start and $end) as active_writers,
        count(distinct owner_id) filter (where day between $prev_start and $prev_end) as active_writers_previous,
        coalesce(sum(words_written) filter (where day between $start and $end), 0) as words_written,
        coalesce(sum(words_written) filter (where day between $prev_start and $prev_end), 0)
            as words_written_previous
    from chosen
)

select * from final
