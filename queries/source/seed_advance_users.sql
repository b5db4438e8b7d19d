-- Active users who logged in during the last 30 days: the ones who come back.
select id::text, (extract(epoch from created_at) * 1000000)::bigint as created_us, tier
from users.users
where status = 'active' and last_login_at >= %(since)s
order by created_at, id
