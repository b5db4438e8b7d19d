-- PostgreSQL: content_statistics has no unique key, so a recomputed row replaces the old one by delete + insert.
delete from content.content_statistics as statistics
using statistics_incoming as incoming
where statistics.content_id = incoming.content_id and statistics.content_type = incoming.content_type
