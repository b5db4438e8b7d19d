-- How many of the period's generations were matched to the prompt template they were written from (by the prompt
-- fingerprint computed at the source): the league's task split rests on this share.
with facts as (
    select * from marts.ai_generation_facts
),

in_period as (
    select *
    from facts
    where day between $start and $end
),

final as (
    select
        count(*) as generations,
        count(template_id) as matched,
        count(template_id) / nullif(count(*), 0) as share_matched
    from in_period
)

select * from final
