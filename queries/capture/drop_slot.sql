-- PostgreSQL: drop a replication slot (one this warehouse created and no longer uses).
select pg_drop_replication_slot(%(slot)s)
