-- The month closes (SQLite, beside the run history, so a warehouse rebuild never loses them): one row per closed
-- month with who closed it, when and from which publication, and the statement rows frozen at that moment. Money
-- is kept as decimal text (exact); the warehouse reads it back as DECIMAL.
create table if not exists month_closes (
    period_month     text primary key,  -- first day of the month, YYYY-MM-DD
    closed_at        text not null,     -- UTC, ISO 8601
    closed_by        text not null,
    role             text not null,
    run_id           text not null,     -- the publication whose statements were frozen
    snapshot_at      text not null,
    statements       integer not null,
    book_sales       text not null,
    platform_revenue text not null,
    author_revenue   text not null
);
create table if not exists closed_statements (
    period_month     text not null references month_closes (period_month),
    revenue_share_id text not null,
    author_id        text not null,
    project_id       text not null,
    project_title    text,
    period_start     text not null,
    period_end       text not null,
    book_sales       text not null,
    commission_rate  text not null,
    platform_revenue text not null,
    author_revenue   text not null,
    payout_status    text not null,
    payout_date      text,
    primary key (period_month, revenue_share_id)
);
