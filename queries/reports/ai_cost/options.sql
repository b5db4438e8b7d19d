-- Providers and models that ever ran: the choices of the page's provider and model filters.
with daily as (
    select * from marts.ai_cost_daily
),

final as (
    select distinct provider, model
    from daily
    order by provider, model
)

select * from final
