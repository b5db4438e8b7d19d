grant select, insert, update, delete on {table} to {role}
