select version from system.schema_migrations order by version
