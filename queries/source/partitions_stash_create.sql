-- Dropped explicitly (partitions_stash_drop), not on commit: the caller's transaction may span many months.
create temporary table {stash} (like {parent})
