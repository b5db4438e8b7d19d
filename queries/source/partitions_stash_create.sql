create temporary table {stash} (like {parent}) on commit drop
