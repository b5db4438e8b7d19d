create table if not exists history.chapter_completions (
    chapter_id    uuid not null,
    completed_day date not null,
    basis         varchar not null
)
