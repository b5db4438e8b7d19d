-- PostgreSQL: the write-back snapshot's xmin (xid8); chapters written by any transaction from it on are re-read
-- by the next write-back.
select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as snapshot_xmin
