-- Plans with subscriptions: the choices of the page's plan filter.
with mrr as (
    select * from marts.mrr_monthly
),

final as (
    select distinct plan from mrr order by plan
)

select * from final
