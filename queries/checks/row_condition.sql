-- A row condition from checks.yml or a mart contract: the keys of the rows where it is false. As dbt's
-- expression_is_true, a row where it is NULL passes. GX substitutes the checked table for the batch placeholder.
select {key}
from {{batch}}
where not ({condition})
