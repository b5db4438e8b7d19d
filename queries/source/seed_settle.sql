-- Leave a freshly seeded source settled, as an operational database's old pages are: every page frozen and
-- all-visible (hint bits set) and planner statistics fresh. Without it the first full read of each page (the ETL's
-- first extract, autovacuum's insert-triggered vacuums) sets hint bits and, with data checksums on and a checkpoint
-- since the load, writes a full-page image per page: WAL of about the data's size, written just after the ETL
-- creates its replication slot, so the slot holds it. Runs outside a transaction block (VACUUM).
vacuum (freeze, analyze)
