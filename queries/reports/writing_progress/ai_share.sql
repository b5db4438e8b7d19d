-- Words in chapters created in the period, AI-generated or not, per genre.
with chapters as (
    select * from staging.chapters
),

projects as (
    select * from staging.projects
),

chosen as (
    select
        coalesce(projects.genre, 'unknown') as genre,
        chapters.ai_generated,
        coalesce(chapters.word_count, 0) as words
    from chapters
    left join projects on projects.id = chapters.project_id
    -- UTC days as a timestamp range, so DuckDB can skip row groups of other days
    where chapters.created_at >= $start::timestamptz
      and chapters.created_at < ($end + interval 1 day)::timestamptz
),

final as (
    select
        genre,
        coalesce(sum(words) filter (where ai_generated), 0) as ai_words,
        coalesce(sum(words) filter (where not coalesce(ai_generated, false)), 0) as human_words,
        sum(words) filter (where ai_generated) / nullif(sum(words), 0) as ai_share
    from chosen
    where picked($genres, genre)
    group by genre
    order by genre
)

select * from final
