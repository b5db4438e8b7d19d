-- PostgreSQL: every ETL slot of this server with what it holds back: WAL kept for it, how far its consumer is
-- behind, for how long it has been unused, and whether PostgreSQL still keeps its WAL (wal_status).
select
    slot_name,
    database,
    active,
    pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint as retained_bytes,
    pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint as lag_bytes,
    extract(epoch from now() - inactive_since)::bigint as idle_seconds,
    wal_status,
    invalidation_reason
from pg_replication_slots
where slot_name like 'ebook\_analytics\_%'
order by database, slot_name
