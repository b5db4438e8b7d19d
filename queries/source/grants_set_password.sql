alter role {role} with login password {password}
