-- PostgreSQL: tables that UPDATE/DELETE could not be published for (no replica identity): adding them to a
-- publication would make the platform's own updates fail, so change capture is not used then.
select extracted.name
from unnest(%(tables)s::text[]) as extracted (name)
inner join pg_class on pg_class.oid = extracted.name::regclass
where
    pg_class.relreplident = 'n'
    or (
        pg_class.relreplident = 'd'
        and not exists (
            select 1 from pg_index
            where pg_index.indrelid = pg_class.oid and pg_index.indisprimary
        )
    )
