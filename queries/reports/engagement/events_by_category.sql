-- Events per category over the period (anonymous events too); no category shows as 'uncategorised'.
-- The range is compared on the raw timestamp (not ts::date) so DuckDB can skip row groups of other days.
with events as (
    select * from staging.user_events
),

final as (
    select
        coalesce(event_category, 'uncategorised') as category,
        count(*) as events
    from events
    where timestamp >= $start::timestamptz
      and timestamp < ($end + interval 1 day)::timestamptz
    group by category
    order by events desc, category
)

select * from final
