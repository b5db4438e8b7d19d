-- Deletions the incremental ETL must notice: the oldest cancelled AI request and the two oldest anonymous page views.
with gone_generation as (
    delete from ai_processing.ai_generations
    where id = (select id from ai_processing.ai_generations where status = 'cancelled' order by created_at, id limit 1)
    returning 1
),

gone_events as (
    delete from analytics.user_events
    where (id, "timestamp") in (
        select id, "timestamp" from analytics.user_events where user_id is null order by "timestamp", id limit 2
    )
    returning 1
)

select (select count(*) from gone_generation) as generations, (select count(*) from gone_events) as events
