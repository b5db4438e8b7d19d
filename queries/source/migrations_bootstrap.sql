-- The ledger of applied schema migrations (pipelines/source/migrate.py); created before the first migration.
create schema if not exists system;
create table if not exists system.schema_migrations (
    version    integer primary key,
    name       text not null,
    applied_at timestamptz not null default now()
);
