grant insert on {table} to {role}
