-- PostgreSQL: the recomputed statistics of contents with no stored row yet, stamped with the write-back
-- transaction's time.
insert into content.content_statistics (
    content_id, content_type, word_count, character_count, sentence_count, paragraph_count,
    flesch_reading_ease, flesch_kincaid_grade, calculated_at
)
select
    incoming.content_id,
    incoming.content_type,
    incoming.word_count,
    incoming.character_count,
    incoming.sentence_count,
    incoming.paragraph_count,
    incoming.flesch_reading_ease,
    incoming.flesch_kincaid_grade,
    now() as calculated_at
from statistics_incoming as incoming
where not exists (
    select 1
    from content.content_statistics as statistics
    where statistics.content_id = incoming.content_id and statistics.content_type = incoming.content_type
)
