-- PostgreSQL: where an incremental run stops reading the slot: the WAL flushed so far (a commit that is not yet
-- flushed cannot be decoded, so it waits for the next run), and the instant it describes ("data as of").
select now() as snapshot_at, pg_current_wal_flush_lsn()::text as upto_lsn
