-- PostgreSQL, run first inside the extract transaction: the instant the snapshot describes ("data as of") and the
-- snapshot's xmin: every transaction older than it is visible, so the next run need only re-read rows from it on.
select
    now() as snapshot_at,
    pg_snapshot_xmin(pg_current_snapshot())::text::bigint as snapshot_xmin
