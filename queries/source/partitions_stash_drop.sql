drop table {stash}
