select * from alert_episodes order by fired_at desc, id desc
