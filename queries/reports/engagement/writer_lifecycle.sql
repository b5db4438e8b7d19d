-- The writer lifecycle of the ISO weeks starting in the period (the first one from its Monday); dormant writers as a
-- negative count, as the stacked chart shows them.
with lifecycle as (
    select * from marts.writer_lifecycle_weekly
),

final as (
    select
        week,
        new_writers as new,
        returning_writers as returning,
        resurrecting_writers as resurrecting,
        -dormant_writers as dormant,
        active_writers,
        complete
    from lifecycle
    where week between date_trunc('week', $start::date) and $end
    order by week
)

select * from final
