-- The warehouse's own bookkeeping (DuckDB): what each staged table was extracted up to, which run this file is,
-- the checks of that run and the marts they held back. See docs/architecture.md ("Warehouse file").
create schema if not exists staging;
create schema if not exists marts;
create schema if not exists meta;

create table if not exists meta.extract_state (
    table_name   varchar primary key,
    strategy     varchar not null,
    last_xmin    bigint,            -- 32-bit xid of the snapshot's xmin (pg_snapshot_xmin mod 2^32)
    xid_epoch    bigint,            -- its epoch (xid8 >> 32): incremental reads are only valid within one epoch
    rows         bigint not null,
    extracted_at timestamptz not null
);

-- Change capture (docs/etl.md): the source's replication slot this warehouse reads, and the LSN before which every
-- committed change is staged. No row: the last run read a snapshot without a slot (the xmin method).
create table if not exists meta.capture_state (
    slot_name varchar not null,
    lsn       bigint not null
);

create table if not exists meta.publication (
    run_id       varchar not null,
    snapshot_at  timestamptz not null,
    published_at timestamptz not null,
    warnings     integer not null,
    redacted     boolean not null
);

create table if not exists meta.check_results (
    run_id           varchar not null,
    name             varchar not null,
    severity         varchar not null,
    success          boolean not null,
    unexpected_count bigint not null,
    table_name       varchar,
    sample_ids       varchar[]
);
-- What each result was computed from (a digest of the check and its tables' fingerprints) and when: the next check
-- step keeps a result whose inputs are unchanged (docs/quality.md, "Checks on what changed"). Added to warehouses
-- from before.
alter table meta.check_results add column if not exists inputs varchar;
alter table meta.check_results add column if not exists checked_at timestamptz;
-- How it was computed: 'whole table' or 'changed rows' (the rows a run changed, of a table whose whole passed
-- before), the rows it read, and the rows of the table its verdict covers. Added to warehouses from before.
alter table meta.check_results add column if not exists scope varchar;
alter table meta.check_results add column if not exists rows_checked bigint;
alter table meta.check_results add column if not exists element_count bigint;
-- The totals of the reconciliations decided on totals (pipelines/quality/totals.py), as of the tables whose
-- fingerprints `inputs` digests: a later run brings them up to date from its change sets. Exact decimal text.
create table if not exists meta.check_totals (
    name       varchar not null,
    side       varchar not null,
    table_name varchar not null,
    total      varchar not null,
    inputs     varchar not null
);

-- The marts this publication held back (docs/quality.md, "The gate"): a failed error-level check reached them, so
-- they keep the contents of the publication `kept_run_id`; NULL there: none was ever published (the mart is empty).
create table if not exists meta.held_back (
    mart              varchar not null,
    failed_checks     varchar[] not null,
    kept_run_id       varchar,
    kept_snapshot_at  timestamptz,
    kept_published_at timestamptz
);

-- The statement rows frozen by the month closes (`ebook-analytics close-month`), copied from `closes.sqlite` beside
-- the run history by every run (pipelines/close/): what marts.revenue_share_restatements compares with. Who closed
-- stays in that file (`close-month --list`): the warehouse names no staff, so a --redact-pii one holds no email.
create table if not exists meta.closed_statements (
    period_month     date not null,
    revenue_share_id uuid not null,
    author_id        uuid not null,
    project_id       uuid not null,
    project_title    varchar,
    period_start     date not null,
    period_end       date not null,
    book_sales       decimal(15, 2) not null,
    commission_rate  decimal(5, 4) not null,
    platform_revenue decimal(15, 2) not null,
    author_revenue   decimal(15, 2) not null,
    payout_status    varchar not null,
    payout_date      timestamptz,
    closed_at        timestamptz not null,
    closed_run_id    varchar not null
);
