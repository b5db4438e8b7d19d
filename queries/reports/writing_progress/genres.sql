-- Genres with projects: the choices of the page's genre filter.
with funnel as (
    select * from marts.project_funnel
),

final as (
    select genre from funnel order by genre
)

select * from final
