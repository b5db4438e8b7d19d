-- PostgreSQL: every ETL slot of this server with what it holds back: WAL kept for it, how far its consumer is
-- behind, for how long it has been unused, and whether PostgreSQL still keeps its WAL (wal_status); and how its
-- decoding went since the server's statistics were last reset: transactions streamed to the ETL as they were
-- decoded, and transactions spilled to disk first (a larger `logical_decoding_work_mem` keeps them in memory).
-- The columns new in PostgreSQL 17 (inactive_since, invalidation_reason) are read by their names from the row:
-- NULL before.
select
    slots.slot_name,
    slots.database,
    slots.active,
    pg_wal_lsn_diff(pg_current_wal_lsn(), slots.restart_lsn)::bigint as retained_bytes,
    pg_wal_lsn_diff(pg_current_wal_lsn(), slots.confirmed_flush_lsn)::bigint as lag_bytes,
    extract(epoch from now() - (to_jsonb(slots) ->> 'inactive_since')::timestamptz)::bigint as idle_seconds,
    slots.wal_status,
    to_jsonb(slots) ->> 'invalidation_reason' as invalidation_reason,
    coalesce(stats.stream_txns, 0) as streamed_transactions,
    coalesce(stats.stream_bytes, 0) as streamed_bytes,
    coalesce(stats.spill_txns, 0) as spilled_transactions,
    coalesce(stats.spill_bytes, 0) as spilled_bytes
from pg_replication_slots as slots
left join pg_stat_replication_slots as stats on slots.slot_name = stats.slot_name
where slots.slot_name like 'ebook\_analytics\_%'
order by slots.database, slots.slot_name
