-- Where the history stands: its last UTC day with activity, and how many users it has (usernames continue).
select max("timestamp")::date as last_day, (select count(*) from users.users) as users
from analytics.user_events
