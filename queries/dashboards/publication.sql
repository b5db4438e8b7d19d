-- The run this warehouse file is: "data as of" on every page.
select run_id, snapshot_at, published_at, warnings
from meta.publication
limit 1
