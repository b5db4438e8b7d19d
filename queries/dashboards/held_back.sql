-- The marts this publication held back (docs/quality.md, "The gate"): the failed error-level checks that reached
-- them, with their counts, and the publication whose contents they keep (NULL: none, the mart is empty).
with

held_back as (
    select mart, failed_checks, kept_run_id, kept_snapshot_at, kept_published_at
    from meta.held_back
),

check_results as (
    select name, table_name, unexpected_count
    from meta.check_results
    where not success and severity = 'error'
),

final as (
    select
        held_back.mart,
        held_back.kept_run_id,
        held_back.kept_snapshot_at,
        held_back.kept_published_at,
        check_results.name as check_name,
        check_results.table_name,
        check_results.unexpected_count
    from held_back
    inner join check_results on list_contains(held_back.failed_checks, check_results.name)
)

select * from final
order by mart, check_name
