with models as (
    select * from staging.ai_models
),

final as (
    select id as model_id, cost_per_input_token, cost_per_output_token, status
    from models
)

select * from final
