-- Chapters completed per UTC day, dated when their completion was first seen (marts.chapter_completions: the date
-- never moves when a chapter is revised later), for projects of the chosen genres.
with completions as (
    select * from marts.chapter_completions
),

final as (
    select day, count(*) as chapters_completed
    from completions
    where day between $start and $end
      and picked($genres, genre)
    group by day
    order by day
)

select * from final
