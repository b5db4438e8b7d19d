-- The rows of {rows} (a SELECT) beyond its counterpart: of each row hash in {difference} (from
-- row_hash_difference.sql) with copies to spare on this side ($sign: 1 for the `before` side, -1 for `after`), that
-- many copies (equal rows: which ones does not matter). Old versions from `before`, new ones from `after`, exactly as
-- EXCEPT ALL would give them. The row itself is hashed: hence the noqa.
with spare as (
    select
        row_hash,
        $sign * (before_copies - after_copies) as copies
    from {difference}
),

final as (
    select side_row.*
    from ({rows}) as side_row
    inner join spare on hash(side_row) = spare.row_hash and spare.copies > 0  -- noqa: RF02
    qualify row_number() over (partition by spare.row_hash) <= spare.copies
)

select * from final
