-- The periods of a mart that the changed rows of its inputs reach ({reached}: one SELECT of `period` per changed
-- input, from the mart contract's refresh declaration), each widened to the next $lookback periods ({unit}: day or
-- month): a change on day D moves trailing windows (WAU/MAU) through D + lookback. NULL: rows without a period.
with reached as (
    {reached}
),

widened as (
    select
        unnest(
            range(
                date_trunc('{unit}', period),
                date_trunc('{unit}', period) + interval 1 {unit} * ($lookback + 1),
                interval 1 {unit}
            )
        )::date as period
    from reached
    where period is not null
),

final as (
    select period from widened
    union
    select period from reached
    where period is null
)

select * from final
