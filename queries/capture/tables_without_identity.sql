-- PostgreSQL: tables that UPDATE/DELETE could not be published for (no replica identity): adding them to a
-- publication would make the platform's own updates fail, so change capture is not used then.
select tables.name
from unnest(%(tables)s::text[]) as tables (name)
join pg_class on pg_class.oid = tables.name::regclass
where pg_class.relreplident = 'n'
   or (pg_class.relreplident = 'd'
       and not exists (select 1 from pg_index where indrelid = pg_class.oid and indisprimary))
