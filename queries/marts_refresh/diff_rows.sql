-- The rows of {rows} (a SELECT) beyond its counterpart: of each row hash in {surplus} (from diff_surplus.sql) with
-- copies to spare on this side ($sign: 1 for the `before` side, -1 for `after`), that many copies (equal rows: which
-- ones does not matter). Old versions from `before`, new ones from `after`, exactly as EXCEPT ALL would give them.
-- The row itself is hashed: hence the noqa.
select side_row.*
from ({rows}) as side_row
inner join {surplus} as surplus on hash(side_row) = surplus.row_hash and $sign * surplus.surplus > 0  -- noqa: RF02
qualify row_number() over (partition by surplus.row_hash) <= $sign * surplus.surplus
