grant select ({columns}) on {table} to {role}
