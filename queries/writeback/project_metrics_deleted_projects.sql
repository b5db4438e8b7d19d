-- PostgreSQL: incoming rows whose project was deleted at the source since the snapshot; the upsert skips them, so
-- the write-back does not remember them as written.
select incoming.project_id
from project_metrics_incoming as incoming
where not exists (select 1 from content.projects where projects.id = incoming.project_id)
