-- PostgreSQL: statistics of the chapters the run's change set deleted and of its projects gone since, by id (no
-- scan for orphans); a row whose content exists again (re-created since) is kept.
delete from content.content_statistics as statistics
where (statistics.content_type = 'chapter'
       and statistics.content_id = any(%(chapter_ids)s)
       and not exists (select 1 from content.chapters where chapters.id = statistics.content_id))
   or (statistics.content_type = 'project'
       and statistics.content_id = any(%(project_ids)s)
       and not exists (select 1 from content.projects where projects.id = statistics.content_id))
