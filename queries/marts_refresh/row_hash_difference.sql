-- What differs between two versions of a table ({before} and {after}: SELECTs of the same columns), as multisets:
-- each row hash whose copies differ in number, with its copies on each side. Hashes of whole rows grouped and
-- compared once, not the rows themselves (EXCEPT ALL each way: 5-6x slower on a mart of 300k rows, where a day
-- changes a few hundred). The change sets' diffs (diff_rows.sql) and the publish's whole-table comparison with the
-- lake both use it. The row itself is hashed: hence the noqa.
with before_counts as (
    select
        hash(before_row) as row_hash,
        count(*) as copies
    from ({before}) as before_row  -- noqa: AL05
    group by row_hash
),

after_counts as (
    select
        hash(after_row) as row_hash,
        count(*) as copies
    from ({after}) as after_row  -- noqa: AL05
    group by row_hash
),

final as (
    select
        coalesce(before_counts.row_hash, after_counts.row_hash) as row_hash,
        coalesce(before_counts.copies, 0) as before_copies,
        coalesce(after_counts.copies, 0) as after_copies
    from before_counts
    full outer join after_counts on before_counts.row_hash = after_counts.row_hash
    where before_counts.copies is distinct from after_counts.copies
)

select * from final
