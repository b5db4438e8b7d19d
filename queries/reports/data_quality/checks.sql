-- The checks of the published run, failures first.
with results as (
    select * from meta.check_results
),

final as (
    select name, table_name, severity, success, unexpected_count, sample_ids
    from results
    order by success, severity, table_name, name
)

select * from final
