-- PostgreSQL: publish every kind of change, partitions as their partitioned table (DDL template).
alter publication {publication} set (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)
