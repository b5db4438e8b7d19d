-- Events per type over the period (anonymous events too, under tier 'unknown' and '(no plan)'), for the chosen plans
-- and tiers, with the category they belong to.
with events_by_type as (
    select * from marts.events_by_type_daily
),

final as (
    select
        event_type,
        event_category as category,
        sum(events)::bigint as events
    from events_by_type
    where day between $start and $end
      and picked($plans, plan)
      and picked($tiers, tier)
    group by event_type, category
    order by events desc, event_type asc, category asc
)

select * from final
