-- Whether `source init` has created the platform schema (the seed needs its tables).
select to_regclass('users.users') is not null and to_regclass('analytics.user_events') is not null
