-- The trend of the power-writer curve: for each ISO week starting in the period (the first one from its Monday), the
-- writers of the 28 UTC days ending on the week's Sunday (or the period's last day, if sooner) and the share of them
-- who wrote on 7 days or more (counting the days on which they were in the chosen plans and tiers).
with writing_days as (
    select * from marts.user_writing_days
),

weeks as (
    select unnest(generate_series(date_trunc('week', $start::date), $end::date, interval 7 day))::date as week
),

windows as (
    select
        week,
        least(week + 6, $end::date) as window_end
    from weeks
),

per_writer as (
    select
        windows.week,
        writing_days.user_id,
        count(*) as writing_days
    from windows
    inner join writing_days
        on writing_days.day between windows.window_end - 27 and windows.window_end
    where picked($plans, writing_days.plan) and picked($tiers, writing_days.tier)
    group by windows.week, writing_days.user_id
),

final as (
    select
        windows.week,
        windows.window_end,
        count(per_writer.user_id)::bigint as writers,
        count(per_writer.user_id) filter (where per_writer.writing_days >= 7)::bigint as power_writers,
        power_writers / nullif(writers, 0) as power_writer_share
    from windows
    left join per_writer using (week)
    group by windows.week, windows.window_end
    order by windows.week
)

select * from final
