-- PostgreSQL: rows the server has read from each given table (its partitions included) so far: sequential-scan
-- tuples plus index fetches (pg_stat_user_tables). A run's cost at the source is the difference around it.
-- pg_partition_tree lists nothing for a table that is not partitioned, hence the table itself beside it.
select extracted.name as source_table,
       coalesce(sum(stats.seq_tup_read + coalesce(stats.idx_tup_fetch, 0)), 0)::bigint as tuples_read
from unnest(%(tables)s::text[]) as extracted (name)
cross join lateral (
    select extracted.name::regclass as relid
    union
    select tree.relid from pg_partition_tree(extracted.name::regclass) as tree
) as members
left join pg_stat_user_tables as stats on stats.relid = members.relid
group by extracted.name
