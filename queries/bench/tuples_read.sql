-- PostgreSQL: rows the server has read from each given table (its partitions included) so far: sequential-scan
-- tuples plus index fetches (pg_stat_user_tables). A run's cost at the source is the difference around it.
with

extracted as (
    select
        listed.name,
        listed.name::regclass as relid
    from unnest(%(tables)s::text[]) as listed (name)
),

-- pg_partition_tree lists nothing for a table that is not partitioned, hence the table itself beside it
members as (
    select
        extracted.name,
        extracted.relid
    from extracted
    union
    select
        extracted.name,
        tree.relid
    from extracted
    cross join lateral pg_partition_tree(extracted.relid) as tree
),

final as (
    select
        members.name as source_table,
        coalesce(sum(stats.seq_tup_read + coalesce(stats.idx_tup_fetch, 0)), 0)::bigint as tuples_read
    from members
    left join pg_stat_user_tables as stats on members.relid = stats.relid
    group by members.name
)

select * from final
