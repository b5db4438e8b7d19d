-- The alert state (SQLite, beside the run history): one row per episode, from the run that fired it to the run
-- that saw it resolved. At most one open episode per rule and subject.
create table if not exists alert_episodes (
    id              integer primary key,
    rule            text not null,
    subject         text not null,
    severity        text not null,
    role            text not null,
    subject_kind    text not null,
    value           text,
    threshold       text,
    alert_window    text not null,
    detail          text,
    fired_at        text not null,
    fired_run_id    text not null,
    last_value      text,
    last_seen_at    text not null,
    resolved_at     text,
    resolved_run_id text,
    delivered_at    text,
    delivery_error  text
);
create unique index if not exists one_open_episode on alert_episodes (rule, subject) where resolved_at is null;
