-- The follow-lag marker: one page view by the first user, committed now; the bench waits until it is published.
insert into analytics.user_events (user_id, event_type, event_category, page_url)
select
    users.id as user_id,
    'page_view' as event_type,
    'navigation' as event_category,
    '/bench/follow-lag' as page_url
from users.users as users
order by users.created_at, users.id
limit 1
returning id
