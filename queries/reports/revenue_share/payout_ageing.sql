-- The authors' share not yet paid (pending, processing or failed payouts) by age: UTC days from the end of the
-- statement's month to $as_of (the data's day), in the buckets 0-30, 31-60, 61-90 and over 90 days (macros
-- payout_age, payout_age_bucket). Every bucket is listed, an empty one with 0.
with statements as (
    select * from marts.revenue_share_statements
),

buckets as (
    select unnest(['0-30 days', '31-60 days', '61-90 days', 'over 90 days']) as bucket
),

unpaid as (
    select
        author_revenue,
        payout_status,
        payout_age_bucket(payout_age(period_month, $as_of::date)) as bucket
    from statements
    where payout_status <> 'paid'
),

final as (
    select
        buckets.bucket,
        count(unpaid.author_revenue) as statements,
        coalesce(sum(unpaid.author_revenue), 0)::decimal(18, 2) as author_revenue_unpaid,
        coalesce(sum(unpaid.author_revenue) filter (where unpaid.payout_status = 'failed'), 0)::decimal(
            18, 2
        ) as author_revenue_failed
    from buckets
    left join unpaid on buckets.bucket = unpaid.bucket
    group by buckets.bucket
    order by buckets.bucket
)

select * from final
