with intervals as (
    select * from marts.subscription_intervals
),

-- One row per recurring subscription with a trial that had ended at the snapshot, on the plan its trial started on;
-- a trial converts when the subscription counted MRR at some point after it (cancelled at or before trial_end:
-- lapsed).
trials as (
    select
        subscription_id,
        any_value(user_id) as user_id,
        arg_min(plan, valid_from) filter (where state = 'trialing') as plan,
        min(valid_from) filter (where state = 'trialing') as trial_start,
        max(valid_to) filter (where state = 'trialing') as trial_end,
        bool_or(state = 'paying') as converted
    from intervals
    group by subscription_id
),

final as (
    select
        subscription_id,
        user_id,
        plan,
        make_timestamp(epoch_us(trial_end))::date as trial_end_day,
        trial_end,
        converted
    from trials
    where trial_end is not null and trial_end <= $snapshot_at::timestamptz
)

select * from final
