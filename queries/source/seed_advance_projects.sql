-- The unfinished projects of the given users, in (owner, created) order.
select id::text, owner_id::text, (extract(epoch from created_at) * 1000000)::bigint as created_us, genre
from content.projects
where owner_id = any(%(owners)s::uuid[]) and status in ('draft', 'in_progress')
order by owner_id, created_at, id
