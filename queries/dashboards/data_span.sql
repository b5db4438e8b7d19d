-- First and last UTC day with any activity (statements count on their period's first day): the bounds of every
-- page's date filter.
with days as (
    select min(day) as first_day, max(day) as last_day from marts.engagement_daily
    union all
    select min(day) as first_day, max(day) as last_day from marts.ai_cost_daily
    union all
    select min(day) as first_day, max(day) as last_day from marts.usage_daily
    union all
    select min(day) as first_day, max(day) as last_day from marts.user_writing_days
    union all
    select min(period_start) as first_day, max(period_start) as last_day from marts.revenue_share_statements
)

select min(first_day) as first_day, max(last_day) as last_day
from days
