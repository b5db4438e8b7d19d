-- Serialises concurrent schema changes (migrations, partition creation): held until the transaction ends.
select pg_advisory_xact_lock(%(lock_key)s)
