-- Error classes by model over the period: generations whose error_message's class (the text up to its first colon,
-- computed at the source) is each one, and their share of the model's generations with an error message.
with facts as (
    select * from marts.ai_generation_facts
),

with_errors as (
    select *
    from facts
    where day between $start and $end and error_class is not null
),

per_class as (
    select
        provider,
        model,
        error_class,
        count(*) as generations
    from with_errors
    group by provider, model, error_class
),

final as (
    select
        provider,
        model,
        error_class,
        generations,
        generations / sum(generations) over (partition by provider, model) as share_of_model_errors
    from per_class
    order by provider asc, model asc, generations desc, error_class asc
)

select * from final
