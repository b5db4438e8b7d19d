-- PostgreSQL: the columns our publication publishes per table, and how it publishes (NULL row: no publication).
select
    publication.pubviaroot and publication.pubinsert and publication.pubupdate and publication.pubdelete
    and publication.pubtruncate as publishes_everything,
    tables.schemaname || '.' || tables.tablename as source_table,
    tables.attnames as columns
from pg_publication as publication
left join pg_publication_tables as tables on tables.pubname = publication.pubname
where publication.pubname = %(publication)s
