-- PostgreSQL: the recomputed statistics that differ from the stored ones, written in place and stamped with the
-- write-back transaction's time. A row equal to its recomputation is left as it was (most chapters of a touched
-- project did not change), and the columns the write-back does not compute (the AI analysis) are kept.
update content.content_statistics as statistics
set
    word_count = incoming.word_count,
    character_count = incoming.character_count,
    sentence_count = incoming.sentence_count,
    paragraph_count = incoming.paragraph_count,
    flesch_reading_ease = incoming.flesch_reading_ease,
    flesch_kincaid_grade = incoming.flesch_kincaid_grade,
    calculated_at = now()
from statistics_incoming as incoming
where
    statistics.content_id = incoming.content_id
    and statistics.content_type = incoming.content_type
    and (
        statistics.word_count, statistics.character_count, statistics.sentence_count, statistics.paragraph_count,
        statistics.flesch_reading_ease, statistics.flesch_kincaid_grade
    ) is distinct from (
        incoming.word_count, incoming.character_count, incoming.sentence_count, incoming.paragraph_count,
        incoming.flesch_reading_ease, incoming.flesch_kincaid_grade
    )
