-- The reconciliation shown under the tables: AI cost on books + AI cost tied to no book = all AI cost, and the
-- commission here against the statements' platform revenue, over the whole history (no filter).
with facts as (
    select * from marts.unit_economics_daily
),

generations as (
    select * from marts.ai_generation_facts
),

statements as (
    select * from marts.revenue_share_statements
),

final as (
    select
        coalesce(sum(facts.ai_cost_usd) filter (where facts.project_id is not null), 0) as book_ai_cost_usd,
        coalesce(sum(facts.ai_cost_usd) filter (where facts.project_id is null), 0) as unbooked_ai_cost_usd,
        (select coalesce(sum(generations.cost_usd), 0) from generations) as total_ai_cost_usd,
        coalesce(sum(facts.platform_commission), 0) as platform_commission,
        (select coalesce(sum(statements.platform_revenue), 0) from statements) as statements_platform_revenue
    from facts
)

select * from final
