-- PostgreSQL: statistics of chapters and projects that no longer exist.
delete from content.content_statistics as statistics
where (statistics.content_type = 'chapter'
       and not exists (select 1 from content.chapters where chapters.id = statistics.content_id))
   or (statistics.content_type = 'project'
       and not exists (select 1 from content.projects where projects.id = statistics.content_id))
