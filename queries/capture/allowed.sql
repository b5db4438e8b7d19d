-- PostgreSQL: can this connection capture changes with a logical replication slot? (docs/etl.md, "Change capture")
select
    current_setting('wal_level') = 'logical' as logical_wal,
    pg_is_in_recovery() as in_recovery,
    (select rolsuper or rolreplication from pg_roles where rolname = current_user) as may_replicate
