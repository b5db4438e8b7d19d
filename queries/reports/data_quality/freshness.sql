-- Each staged source table: how it is extracted, its rows, and when it was last read.
with extract_state as (
    select * from meta.extract_state
),

final as (
    select table_name, strategy, rows, extracted_at
    from extract_state
    order by table_name
)

select * from final
