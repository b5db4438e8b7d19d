-- Events per category over the period (anonymous events too, under tier 'unknown' and '(no plan)'), for the chosen
-- plans and tiers; no category shows as 'uncategorised'.
with events_by_category as (
    select * from marts.events_by_category_daily
),

final as (
    select
        event_category as category,
        sum(events)::bigint as events
    from events_by_category
    where day between $start and $end
      and picked($plans, plan)
      and picked($tiers, tier)
    group by category
    order by events desc, category asc
)

select * from final
