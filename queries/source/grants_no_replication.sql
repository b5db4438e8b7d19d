-- No replication: the ETL then reads with the xmin method; DDL template.
alter role {role} with noreplication
