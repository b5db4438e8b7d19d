select id from alert_episodes where resolved_at is null and delivered_at is null order by id
