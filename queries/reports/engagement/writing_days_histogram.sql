-- The power-writer curve: how many people wrote on 1, 2, ... 28 of the 28 UTC days ending on the period's last day
-- (the days on which they were in the chosen plans and tiers).
with writing_days as (
    select * from marts.user_writing_days
),

per_writer as (
    select user_id, count(*) as writing_days
    from writing_days
    where day between $end::date - 27 and $end::date
      and picked($plans, plan)
      and picked($tiers, tier)
    group by user_id
),

buckets as (
    select unnest(range(1, 29)) as writing_days
),

final as (
    select
        buckets.writing_days::integer as writing_days,
        count(per_writer.user_id)::bigint as writers
    from buckets
    left join per_writer using (writing_days)
    group by buckets.writing_days
    order by writing_days
)

select * from final
