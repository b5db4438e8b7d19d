-- PostgreSQL: the recomputed rows, stamped with the write-back transaction's time.
insert into content.content_statistics (
    content_id, content_type, word_count, character_count, sentence_count, paragraph_count,
    flesch_reading_ease, flesch_kincaid_grade, calculated_at
)
select
    content_id, content_type, word_count, character_count, sentence_count, paragraph_count,
    flesch_reading_ease, flesch_kincaid_grade, now() as calculated_at
from statistics_incoming
