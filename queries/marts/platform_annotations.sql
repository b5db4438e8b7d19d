-- The platform's own changes, one row each, to mark on the time-series charts: models added, deprecated or
-- repriced and plans added, deprecated or repriced. The source keeps no time for a model's or a plan's change, so
-- it is dated by the run that first saw it (history.*.valid_from); a plan's creation has its own created_at.
with model_versions as (
    select * from history.model_prices
),

models as (
    select * from marts.ai_models
),

plan_versions as (
    select * from history.plan_prices
),

plans as (
    select * from staging.subscription_plans
),

model_changes as (
    select
        model_versions.*,
        coalesce(models.provider || ' ' || models.model, 'unknown model') as name,
        row_number() over versions = 1 as is_first,
        -- The first run that kept this history saw the models there already: they were not added then.
        model_versions.valid_from > min(model_versions.valid_from) over () as after_first_load,
        lag(model_versions.status) over versions as previous_status,
        lag(model_versions.cost_per_input_token) over versions as previous_input,
        lag(model_versions.cost_per_output_token) over versions as previous_output
    from model_versions
    left join models on model_versions.model_id = models.model_id
    window versions as (partition by model_versions.model_id order by model_versions.valid_from)
),

plan_changes as (
    select
        plan_versions.*,
        coalesce(plans.name, 'unknown plan') as name,
        row_number() over versions = 1 as is_first,
        lag(plan_versions.status) over versions as previous_status,
        lag(plan_versions.price) over versions as previous_price
    from plan_versions
    left join plans on plan_versions.plan_id = plans.id
    window versions as (partition by plan_versions.plan_id order by plan_versions.valid_from)
),

model_annotations as (
    select utc_day(valid_from) as day, 'model_added' as kind, 'Model added: ' || name as label
    from model_changes
    where is_first and after_first_load
    union all
    select utc_day(valid_from) as day, 'model_deprecated' as kind, 'Model deprecated: ' || name as label
    from model_changes
    where not is_first and status = 'deprecated' and previous_status is distinct from 'deprecated'
    union all
    select
        utc_day(valid_from) as day,
        'model_price_changed' as kind,
        'Model price changed: ' || name
        || ' (per input token ' || coalesce(previous_input::varchar, 'none') || ' -> '
        || coalesce(cost_per_input_token::varchar, 'none')
        || ', per output token ' || coalesce(previous_output::varchar, 'none') || ' -> '
        || coalesce(cost_per_output_token::varchar, 'none') || ' USD)' as label
    from model_changes
    where
        not is_first
        and (
            cost_per_input_token is distinct from previous_input
            or cost_per_output_token is distinct from previous_output
        )
),

plan_annotations as (
    select utc_day(created_at) as day, 'plan_added' as kind, 'Plan added: ' || name as label
    from plans
    where created_at is not null
    union all
    select utc_day(valid_from) as day, 'plan_deprecated' as kind, 'Plan deprecated: ' || name as label
    from plan_changes
    where not is_first and status = 'deprecated' and previous_status is distinct from 'deprecated'
    union all
    select
        utc_day(valid_from) as day,
        'plan_price_changed' as kind,
        'Plan price changed: ' || name || ' (' || coalesce(previous_price::varchar, 'none') || ' -> '
        || coalesce(price::varchar, 'none') || ' USD)' as label
    from plan_changes
    where not is_first and price is distinct from previous_price
),

final as (
    select distinct day, kind, label from model_annotations
    union
    select distinct day, kind, label from plan_annotations
)

select * from final
