-- PostgreSQL: the warehouse now holds every change committed before the LSN: the source may recycle that WAL.
select pg_replication_slot_advance(%(slot)s, %(lsn)s::pg_lsn)
