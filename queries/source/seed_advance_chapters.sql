-- Chapters of the given projects with their latest version number, in (project, position) order.
select
    c.id::text, c.project_id::text, (extract(epoch from c.created_at) * 1000000)::bigint as created_us,
    c.word_count, coalesce(max(v.version_number), 0) as last_version
from content.chapters as c
left join content.content_versions as v on v.chapter_id = c.id
where c.project_id = any(%(projects)s::uuid[])
group by c.id
order by c.project_id, c.position
