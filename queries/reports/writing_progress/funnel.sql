-- The project funnel per genre: created, with chapters, completed, published, and the median days between.
with funnel as (
    select * from marts.project_funnel
),

final as (
    select *
    from funnel
    where picked($genres, genre)
    order by created desc, genre asc
)

select * from final
