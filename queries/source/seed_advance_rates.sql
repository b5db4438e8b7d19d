-- Average daily sign-ups, sessions and AI generations over the last 28 days of history (the pace to keep).
select
    (select count(*) from users.users where created_at >= %(since)s) / 28.0 as signups,
    (select count(*) from users.user_sessions where created_at >= %(since)s) / 28.0 as sessions,
    (select count(*) from ai_processing.ai_generations where created_at >= %(since)s) / 28.0 as generations
