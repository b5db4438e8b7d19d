-- Each user's latest subscription that can be charged (not cancelled, not an abandoned checkout).
select distinct on (user_id) user_id::text, id::text
from billing.user_subscriptions
where status not in ('cancelled', 'incomplete')
order by user_id asc, created_at desc, id asc
