-- The run this warehouse file is: "data as of" on every page.
select run_id, snapshot_at
from meta.publication
limit 1
