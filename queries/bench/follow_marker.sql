-- The follow-lag marker: one page view by the first user, committed now; the bench waits until it is published.
-- Dated at the history's last event, not now: the history's last day stays where `source advance` left it, so the
-- next bench on this source can still append a day.
insert into analytics.user_events (user_id, event_type, event_category, page_url, "timestamp")
select
    users.id as user_id,
    'page_view' as event_type,
    'navigation' as event_category,
    '/bench/follow-lag' as page_url,
    (select max(events."timestamp") from analytics.user_events as events) as "timestamp"
from users.users as users
order by users.created_at, users.id
limit 1
returning id
