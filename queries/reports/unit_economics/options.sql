-- The choices of the page's filters: genres and publication cohorts of the books, plans of the authors.
with books as (
    select * from marts.unit_economics_books
),

authors as (
    select * from marts.unit_economics_authors
),

choices as (
    select distinct 'genre' as filter, genre as choice from books
    union all
    select distinct 'cohort' as filter, cohort as choice from books
    union all
    select distinct 'plan' as filter, plan as choice from authors
),

final as (
    select * from choices order by filter, choice
)

select * from final
