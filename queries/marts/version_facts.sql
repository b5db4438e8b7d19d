-- A refresh by chapter reads only its chapters' rows ($window_keys; every chapter in every other build).
with versions as (
    select * from staging.content_versions
    where in_window_keys(chapter_id, $window_keys::uuid[])
),

chapters as (
    select * from staging.chapters
    where in_window_keys(id, $window_keys::uuid[])
),

projects as (
    select * from staging.projects
),

generations as (
    select * from staging.ai_generations
    where in_window_keys(chapter_id, $window_keys::uuid[])
),

models as (
    select * from marts.ai_models
),

-- A version's word_count is the whole chapter's length: what the version added is its growth over the chapter's
-- previous version (by time, then version number); a chapter's first version added all of its words.
version_growth as (
    select
        versions.id as version_id,
        versions.chapter_id,
        versions.created_at,
        versions.changed_by,
        versions.change_type,
        versions.change_type in ('ai_generation', 'ai_revision') as is_ai,
        coalesce(versions.word_count, 0) as word_count,
        coalesce(versions.word_count, 0) - coalesce(
            lag(coalesce(versions.word_count, 0)) over (
                partition by versions.chapter_id order by versions.created_at, versions.version_number
            ),
            0
        ) as words_added
    from versions
),

-- The text of a completed generation lands in a version when the generation completes.
chapter_generations as (
    select
        generations.chapter_id,
        coalesce(generations.completed_at, generations.created_at) as landed_at,
        generations.id as generation_id,
        coalesce(models.provider, 'unknown') as provider,
        coalesce(models.model, 'unknown') as model
    from generations
    left join models on models.model_id = generations.model_id
    where generations.status = 'completed' and generations.chapter_id is not null
),

-- An AI version is the work of the latest completed generation on its chapter at or before it. One chain from the
-- versions (no second read of version_growth): a filter on the chapter reaches below the window, so a refresh by
-- chapter computes only the chapters it refreshes.
attributed as (
    select
        version_growth.*,
        chapter_generations.generation_id,
        chapter_generations.provider,
        chapter_generations.model
    from version_growth
    asof left join chapter_generations
        on
        chapter_generations.chapter_id = version_growth.chapter_id
        and chapter_generations.landed_at <= version_growth.created_at
),

final as (
    select
        utc_day(attributed.created_at) as day,
        attributed.version_id,
        attributed.chapter_id,
        chapters.project_id,
        coalesce(projects.genre, 'unknown') as genre,
        attributed.changed_by,
        attributed.change_type,
        attributed.is_ai,
        attributed.word_count::bigint as word_count,
        attributed.words_added::bigint as words_added,
        (case when attributed.is_ai then greatest(attributed.words_added, 0) else 0 end)::bigint as ai_words,
        case when attributed.is_ai then coalesce(attributed.provider, 'unknown') end as provider,
        case when attributed.is_ai then coalesce(attributed.model, 'unknown') end as model,
        case when attributed.is_ai then attributed.generation_id end as generation_id
    from attributed
    left join chapters on chapters.id = attributed.chapter_id
    left join projects on projects.id = chapters.project_id
    order by day
)

select * from final
