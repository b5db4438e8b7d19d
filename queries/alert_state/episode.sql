select * from alert_episodes where id = :id
