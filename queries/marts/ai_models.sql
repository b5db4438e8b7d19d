with models as (
    select * from staging.ai_models
),

providers as (
    select * from staging.ai_providers
),

final as (
    select
        models.id as model_id,
        coalesce(providers.name, 'unknown') as provider,
        models.name as model
    from models
    left join providers on providers.id = models.provider_id
)

select * from final
