-- PostgreSQL: join the recomputed statistics with the stored ones by key (index lookups on (content_type,
-- content_id)), for the rest of the write-back transaction. Costed with disk reads, a hash join over the whole table
-- looks cheaper and takes 3x as long: 0.4 s instead of 0.15 s per statement for 23,000 rows of 680,000.
set local enable_hashjoin = off;
set local enable_mergejoin = off
