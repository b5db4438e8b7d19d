-- Names of the partitions a partitioned table has now.
select child.relname
from pg_inherits as inheritance
inner join pg_class as child on child.oid = inheritance.inhrelid
where inheritance.inhparent = %(parent)s::regclass
