-- A refresh by user reads only its users' subscriptions, every version of each ($window_keys; every subscription in
-- every other build): a subscription moved to another user is read whole.
with states as (
    select * from history.subscription_states
    where
        $window_keys::uuid[] is null
        or subscription_id in (
            select key_states.subscription_id from history.subscription_states as key_states
            where in_window_keys(key_states.user_id, $window_keys::uuid[])
        )
),

plans as (
    select * from staging.subscription_plans
),

-- When it was created, cancelled and its trial ends are facts with their own time: the latest version's values
-- apply to the whole history. Status, plan, amount and currency are states: each version's apply while in force.
-- (a subscription deleted at the source keeps its last known values).
latest as (
    select
        subscription_id,
        arg_max_null(created_at, valid_from) as created_at,
        arg_max_null(trial_end, valid_from) as trial_end,
        arg_max_null(cancelled_at, valid_from) as cancelled_at
    from states
    group by subscription_id
),

-- A recurring subscription is live from its creation to its cancellation, within each version of its state.
-- 'incomplete' never counts; a version with status 'cancelled' counts only up to its own cancelled_at (a
-- cancellation at the period's end), nothing without one.
live_versions as (
    select
        states.subscription_id,
        states.user_id,
        states.plan_id,
        plans.name as plan,
        plans.billing_cycle,
        states.status,
        states.currency,
        states.amount,
        latest.trial_end,
        greatest(states.effective_from, latest.created_at) as live_from,
        least(
            states.effective_to,
            coalesce(latest.cancelled_at, 'infinity'::timestamptz),
            coalesce(
                states.cancelled_at,
                case when states.status = 'cancelled' then '-infinity'::timestamptz else 'infinity'::timestamptz end
            )
        ) as live_to,
        least(
            coalesce(latest.cancelled_at, 'infinity'::timestamptz),
            coalesce(states.cancelled_at, 'infinity'::timestamptz)
        ) < states.effective_to as ends_by_cancellation
    from states
    inner join latest on latest.subscription_id = states.subscription_id
    inner join plans on plans.id = states.plan_id
    where plans.billing_cycle in ('monthly', 'yearly') and states.status <> 'incomplete'
),

-- The trial (until trial_end, excluded) counts nothing; after it, past_due and unpaid are revenue at risk.
pieces as (
    select
        *,
        'trialing' as state,
        live_from as valid_from,
        least(live_to, trial_end) as valid_to,
        false as ends_by_cancellation_piece
    from live_versions
    where trial_end is not null
    union all
    select
        *,
        case when status in ('past_due', 'unpaid') then 'at_risk' else 'paying' end as state,
        greatest(live_from, coalesce(trial_end, '-infinity'::timestamptz)) as valid_from,
        live_to as valid_to,
        ends_by_cancellation as ends_by_cancellation_piece
    from live_versions
),

non_empty_pieces as (
    select * from pieces where valid_from < valid_to
),

-- DuckDB divides decimals in DOUBLE, so a yearly amount is divided as whole micro-dollars (rounded half up)
-- and scaled back by a decimal multiplication: exact, and no float ever touches the money.
monthly_amounts as (
    select
        *,
        case billing_cycle
            when 'monthly' then coalesce(amount, 0)::decimal(18, 6)
            else ((((coalesce(amount, 0) * 1000000)::bigint + 6) // 12)::decimal(18, 0) * 0.000001)::decimal(18, 6)
        end as monthly_amount
    from non_empty_pieces
),

paying as (
    select user_id, valid_from, valid_to
    from monthly_amounts
    where state = 'paying'
),

-- A cancellation followed within the window by another paying interval of the same customer, with no paying
-- interval covering the gap, is a plan change: the ending interval runs on until the next one starts.
bridges as (
    select
        ending.subscription_id,
        ending.valid_from,
        min(following.valid_from) as bridged_to
    from monthly_amounts as ending
    inner join paying as following
        on
        following.user_id = ending.user_id
        and following.valid_from > ending.valid_to
        and following.valid_from <= ending.valid_to + to_days($resubscribe_window_days::integer)
    where
        ending.state = 'paying'
        and ending.ends_by_cancellation_piece
        and not exists (
            select 1
            from paying as covering
            where
                covering.user_id = ending.user_id
                and covering.valid_from <= ending.valid_to
                and covering.valid_to > ending.valid_to
        )
    group by ending.subscription_id, ending.valid_from
),

final as (
    select
        monthly_amounts.subscription_id,
        monthly_amounts.user_id,
        monthly_amounts.plan_id,
        monthly_amounts.plan,
        monthly_amounts.billing_cycle,
        monthly_amounts.status,
        monthly_amounts.state,
        monthly_amounts.currency,
        monthly_amounts.valid_from,
        case
            when bridges.bridged_to is not null then bridges.bridged_to
            when isinf(monthly_amounts.valid_to) then null
            else monthly_amounts.valid_to
        end as valid_to,
        bridges.bridged_to is not null as bridged,
        case when monthly_amounts.state = 'paying' then monthly_amounts.monthly_amount else 0 end::decimal(18, 6)
            as mrr_usd,
        case when monthly_amounts.state = 'at_risk' then monthly_amounts.monthly_amount else 0 end::decimal(18, 6)
            as mrr_at_risk_usd
    from monthly_amounts
    left join bridges
        on
        bridges.subscription_id = monthly_amounts.subscription_id
        and bridges.valid_from = monthly_amounts.valid_from
        and monthly_amounts.state = 'paying'
)

select * from final
