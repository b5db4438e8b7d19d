-- When the published warehouse's data is from (the source's now() at extract): the freshness reference.
select snapshot_at
from meta.publication
