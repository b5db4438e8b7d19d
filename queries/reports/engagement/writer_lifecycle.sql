-- The writer lifecycle of the ISO weeks starting in the period (the first one from its Monday); dormant writers as a
-- negative count, as the stacked chart shows them.
with lifecycle as (
    select * from marts.writer_lifecycle_weekly
),

final as (
    select
        week,
        new_writers,
        returning_writers,
        resurrecting_writers,
        -dormant_writers as dormant_writers,
        active_writers,
        complete
    from lifecycle
    where week between date_trunc('week', $start::date) and $end
    order by week
)

select * from final
