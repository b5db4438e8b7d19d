select coalesce(max(version), 0) from system.schema_migrations
