-- Whether the latest publication holds the follow-lag marker.
select count(*) > 0 as published
from staging.user_events
where id = $marker
