-- PostgreSQL: sessions on this database other than ours (a run's statistics are complete once its are gone).
select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()
