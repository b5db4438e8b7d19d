select id, rule, subject from alert_episodes where resolved_at is null order by id
