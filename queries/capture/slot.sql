-- PostgreSQL: one replication slot: whether it is in this database and still usable, and where it stands.
select
    slots.database = current_database() as here,
    slots.plugin,
    slots.wal_status,
    slots.invalidation_reason,
    slots.confirmed_flush_lsn::text as confirmed_lsn
from pg_replication_slots as slots
where slots.slot_name = %(slot)s
