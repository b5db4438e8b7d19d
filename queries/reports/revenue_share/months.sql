-- Months with revenue-share statements (by period start), newest first: the statement month picker's choices.
with statements as (
    select * from marts.revenue_share_statements
),

final as (
    select distinct date_trunc('month', period_start)::date as month
    from statements
    order by month desc
)

select * from final
