-- No writes may land in DEFAULT between moving a month's rows out and creating that month's partition.
lock table {default_partition} in exclusive mode
