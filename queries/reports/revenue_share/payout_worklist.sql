-- The outstanding payouts of every month (pending, processing or failed, a share above 0): failed first, then the
-- oldest; each with its age in UTC days from the end of the statement's month to $as_of and its ageing bucket (macros
-- payout_age, payout_age_bucket).
with statements as (
    select * from marts.revenue_share_statements
),

outstanding as (
    select
        *,
        payout_age(period_month, $as_of::date) as age_days
    from statements
    where payout_status <> 'paid' and author_revenue > 0
),

final as (
    select
        period_month as month,
        author_id::varchar as author_id,
        project_title,
        payout_status,
        author_revenue,
        age_days,
        payout_age_bucket(age_days) as age_bucket,
        revenue_share_id::varchar as revenue_share_id
    from outstanding
    order by payout_status = 'failed' desc, age_days desc, author_revenue desc, revenue_share_id asc
)

select * from final
