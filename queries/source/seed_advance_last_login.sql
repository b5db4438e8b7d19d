update users.users as u
set last_login_at = seen.at, updated_at = greatest(u.updated_at, seen.at)
from unnest(%(ids)s::uuid[], %(at)s::timestamptz[]) as seen (id, at)
where u.id = seen.id
