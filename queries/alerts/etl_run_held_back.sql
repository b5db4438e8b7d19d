-- Runs of the run history (`etl_runs`, registered by the evaluation) blocked, partial (marts held back) or failed
-- within the window.
with runs as (
    select * from etl_runs
),

final as (
    select
        run_id as subject,
        failed_error_checks::decimal(18, 6) as value,
        $threshold::decimal(18, 6) as threshold,
        strftime(started_at, '%Y-%m-%dT%H:%M:%SZ') as "window",
        status || coalesce(': ' || error, '') as detail
    from runs
    where
        status in ('blocked', 'partial', 'failed')
        and started_at > $now::timestamptz - to_days($window_days::integer)
)

select * from final
