-- PostgreSQL: the day's computed metrics are COPY'd here, then upserted in the same transaction.
create temp table project_metrics_incoming (
    project_id                  uuid not null,
    total_words                 integer not null,
    chapters_completed          integer not null,
    ai_generated_percentage     decimal(5, 2) not null,
    active_writing_time_minutes integer not null,
    ai_generation_time_minutes  integer not null,
    collaborator_count          integer not null,
    comments_count              integer not null,
    revisions_count             integer not null,
    metrics_date                date not null
) on commit drop
