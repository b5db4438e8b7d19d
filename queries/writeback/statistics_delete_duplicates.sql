-- PostgreSQL: content_statistics has no unique key; of the rows of a content recomputed now, all but the first (by
-- id) go, so each keeps one row.
delete from content.content_statistics as statistics
using statistics_incoming as incoming
where
    statistics.content_id = incoming.content_id
    and statistics.content_type = incoming.content_type
    and exists (
        select 1
        from content.content_statistics as earlier
        where
            earlier.content_type = statistics.content_type
            and earlier.content_id = statistics.content_id
            and earlier.id < statistics.id
    )
