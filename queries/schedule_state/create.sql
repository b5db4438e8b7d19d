-- The delivery state (SQLite, in the data folder): one row per schedule and due time, from its first attempt to
-- its last. A manual `schedules run NAME` is a row whose due time is when it was asked for.
create table if not exists deliveries (
    id              integer primary key,
    schedule        text not null,
    due_at          text not null,
    trigger_kind    text not null,
    status          text not null,
    attempts        integer not null default 0,
    next_attempt_at text,
    sent_at         text,
    recipients      text not null default '[]',
    folder          text,
    files           text not null default '[]',
    done            text not null default '[]',
    run_id          text,
    error           text
);
create unique index if not exists one_delivery_per_due_time on deliveries (schedule, due_at);
