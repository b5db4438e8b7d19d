-- A mart total against its staged source's total, both NULL as 0 (an empty mart reconciles with an empty
-- source), compared exactly (DECIMAL): one row naming both totals when they differ. GX substitutes the mart for
-- the batch placeholder.
select 'mart ' || coalesce(m.total, 0) || ' <> source ' || coalesce(s.total, 0) as difference
from (select {mart_total} as total from {{batch}}) as m,
    ({source_total}) as s (total)
where coalesce(m.total, 0) <> coalesce(s.total, 0)
