-- Requests that finished: status, timings, tokens and cost set in place.
update ai_processing.ai_generations as g
set
    status = 'completed',
    started_at = coalesce(g.started_at, done.started_at),
    completed_at = done.completed_at,
    tokens_used = done.tokens_used,
    cost = done.cost,
    processing_time_ms = done.processing_time_ms,
    response = done.response
from unnest(
        %(ids)s::uuid[], %(started_at)s::timestamptz[], %(completed_at)s::timestamptz[],
        %(tokens_used)s::integer[], %(cost)s::numeric[], %(processing_time_ms)s::integer[], %(response)s::text[])
        as done (id, started_at, completed_at, tokens_used, cost, processing_time_ms, response)
where g.id = done.id
