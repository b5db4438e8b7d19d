-- Chapters that got new versions: their length is the latest version's.
update content.chapters as c
set
    word_count = grown.word_count,
    character_count = grown.word_count * 6,
    updated_at = grown.updated_at
from unnest(%(ids)s::uuid[], %(word_count)s::integer[], %(updated_at)s::timestamptz[])
        as grown (id, word_count, updated_at)
where c.id = grown.id
