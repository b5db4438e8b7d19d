-- PostgreSQL: one row per project and day; rerunning the same day overwrites, but only a row whose values differ,
-- so the statement's row count is the rows written. A row equal to the stored one is filtered out before the
-- upsert: ON CONFLICT would lock it (a WAL record per row) even when its WHERE then skips the update; the WHERE
-- stays for a row another writer changed meanwhile. Projects deleted since the snapshot are skipped (the foreign
-- key would refuse them).
insert into analytics.project_metrics (
    project_id, total_words, chapters_completed, ai_generated_percentage, active_writing_time_minutes,
    ai_generation_time_minutes, collaborator_count, comments_count, revisions_count, metrics_date
)
select
    incoming.project_id, incoming.total_words, incoming.chapters_completed, incoming.ai_generated_percentage,
    incoming.active_writing_time_minutes, incoming.ai_generation_time_minutes, incoming.collaborator_count,
    incoming.comments_count, incoming.revisions_count, incoming.metrics_date
from project_metrics_incoming as incoming
where
    exists (select 1 from content.projects where projects.id = incoming.project_id)
    and not exists (
        select 1 from analytics.project_metrics as stored
        where
            stored.project_id = incoming.project_id
            and stored.metrics_date = incoming.metrics_date
            and (
                stored.total_words, stored.chapters_completed, stored.ai_generated_percentage,
                stored.active_writing_time_minutes, stored.ai_generation_time_minutes, stored.collaborator_count,
                stored.comments_count, stored.revisions_count
            ) is not distinct from (
                incoming.total_words, incoming.chapters_completed, incoming.ai_generated_percentage,
                incoming.active_writing_time_minutes, incoming.ai_generation_time_minutes,
                incoming.collaborator_count, incoming.comments_count, incoming.revisions_count
            )
    )
on conflict (project_id, metrics_date) do update set
    total_words = excluded.total_words,
    chapters_completed = excluded.chapters_completed,
    ai_generated_percentage = excluded.ai_generated_percentage,
    active_writing_time_minutes = excluded.active_writing_time_minutes,
    ai_generation_time_minutes = excluded.ai_generation_time_minutes,
    collaborator_count = excluded.collaborator_count,
    comments_count = excluded.comments_count,
    revisions_count = excluded.revisions_count
where (
    project_metrics.total_words, project_metrics.chapters_completed, project_metrics.ai_generated_percentage,
    project_metrics.active_writing_time_minutes, project_metrics.ai_generation_time_minutes,
    project_metrics.collaborator_count, project_metrics.comments_count, project_metrics.revisions_count
) is distinct from (
    excluded.total_words, excluded.chapters_completed, excluded.ai_generated_percentage,
    excluded.active_writing_time_minutes, excluded.ai_generation_time_minutes, excluded.collaborator_count,
    excluded.comments_count, excluded.revisions_count
)
