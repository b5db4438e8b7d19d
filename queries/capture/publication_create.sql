-- PostgreSQL: our publication (DDL template): the staged columns of every extracted table, changes of partitions
-- published as their partitioned table's.
create publication {publication} for table {tables} with (publish_via_partition_root = true)
