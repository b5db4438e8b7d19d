-- An alert for the platform's mailer: a pending job in its queue (the writer role may only insert here).
insert into system.background_jobs (job_type, payload, priority)
values ('analytics_alert', %(payload)s::jsonb, %(priority)s)
