-- PostgreSQL: one replication slot: whether it is in this database and still usable, and where it stands. Why a
-- slot was invalidated is a column from PostgreSQL 17 on, read by its name from the row (NULL before; a lost slot
-- then shows in wal_status alone).
select
    slots.database = current_database() as here,
    slots.plugin,
    slots.wal_status,
    to_jsonb(slots) ->> 'invalidation_reason' as invalidation_reason,
    slots.confirmed_flush_lsn::text as confirmed_lsn
from pg_replication_slots as slots
where slots.slot_name = %(slot)s
