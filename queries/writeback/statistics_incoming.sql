-- PostgreSQL: the recomputed statistics are COPY'd here, then replace the stored rows in the same transaction.
create temp table statistics_incoming (
    content_id           uuid not null,
    content_type         varchar(20) not null,
    word_count           integer not null,
    character_count      integer not null,
    sentence_count       integer not null,
    paragraph_count      integer not null,
    flesch_reading_ease  decimal(5, 2),
    flesch_kincaid_grade decimal(5, 2)
) on commit drop
