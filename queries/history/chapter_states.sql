with chapters as (
    select * from staging.chapters
),

final as (
    select id as chapter_id, status
    from chapters
)

select * from final
