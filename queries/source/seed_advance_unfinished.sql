-- AI requests still pending or processing, oldest first.
select
    g.id::text, g.user_id::text, g.project_id::text, m.name,
    (extract(epoch from g.created_at) * 1000000)::bigint as created_us
from ai_processing.ai_generations as g
inner join ai_processing.ai_models as m on m.id = g.model_id
where g.status in ('pending', 'processing')
order by g.created_at, g.id
