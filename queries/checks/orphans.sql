-- Orphans: rows whose reference names no staged row of the parent table. A Great Expectations unexpected-rows
-- query: GX substitutes the checked table for the batch placeholder; the other names are quoted identifiers from
-- checks.yml. NOT IN over a NULL-free list, so a NULL in the parent's key cannot hide every orphan.
select {key}
from {{batch}}
where {column} is not null
  and {column} not in (
    select parents.{parent_key} from staging.{parent} as parents where parents.{parent_key} is not null
  )
