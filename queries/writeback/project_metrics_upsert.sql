-- PostgreSQL: one row per project and day; rerunning the same day overwrites. Projects deleted since the snapshot
-- are skipped (the foreign key would refuse them).
insert into analytics.project_metrics (
    project_id, total_words, chapters_completed, ai_generated_percentage, active_writing_time_minutes,
    ai_generation_time_minutes, collaborator_count, comments_count, revisions_count, metrics_date
)
select
    incoming.project_id, incoming.total_words, incoming.chapters_completed, incoming.ai_generated_percentage,
    incoming.active_writing_time_minutes, incoming.ai_generation_time_minutes, incoming.collaborator_count,
    incoming.comments_count, incoming.revisions_count, incoming.metrics_date
from project_metrics_incoming as incoming
where exists (select 1 from content.projects where projects.id = incoming.project_id)
on conflict (project_id, metrics_date) do update set
    total_words = excluded.total_words,
    chapters_completed = excluded.chapters_completed,
    ai_generated_percentage = excluded.ai_generated_percentage,
    active_writing_time_minutes = excluded.active_writing_time_minutes,
    ai_generation_time_minutes = excluded.ai_generation_time_minutes,
    collaborator_count = excluded.collaborator_count,
    comments_count = excluded.comments_count,
    revisions_count = excluded.revisions_count
