-- PostgreSQL: the slots this warehouse created in this database, inactive ones only (an active slot is in use).
select slot_name
from pg_replication_slots
where database = current_database() and slot_name like %(prefix)s || '%%' and not active
