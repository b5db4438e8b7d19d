-- May create and read logical replication slots (change capture); DDL template.
alter role {role} with replication
