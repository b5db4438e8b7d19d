-- The writer lifecycle of the ISO weeks starting in the period (the first one from its Monday), of the writers in
-- the chosen plans and tiers; dormant writers as a negative count, as the stacked chart shows them.
with lifecycle as (
    select * from marts.writer_lifecycle_weekly
),

final as (
    select
        week,
        sum(new_writers)::bigint as new_writers,
        sum(returning_writers)::bigint as returning_writers,
        sum(resurrecting_writers)::bigint as resurrecting_writers,
        -sum(dormant_writers)::bigint as dormant_writers,
        sum(active_writers)::bigint as active_writers,
        bool_and(complete) as complete
    from lifecycle
    where week between date_trunc('week', $start::date) and $end
      and picked($plans, plan)
      and picked($tiers, tier)
    group by week
    order by week
)

select * from final
