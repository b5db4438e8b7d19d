-- The same aggregate over a table's change set (`pipelines.transform.changes`: its old and new versions): what the
-- run took away from the side's total and what it added, and the change-set rows read. Versions no row has give
-- no row (nothing to add or take away).
select
    _version,
    {aggregate} as total,
    count(*) as rows_read
from {changes}
where {condition}
group by _version
