-- The run this warehouse file is: "data as of" on every page. (No order by: the file holds the one publication
-- that wrote it.)
select run_id, snapshot_at
from meta.publication
limit 1  -- noqa: AM09
