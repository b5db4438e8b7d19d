create role {role} with login password {password}
