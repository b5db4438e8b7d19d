-- Whether the platform database has no users yet, i.e. the bench may seed it.
select not exists (select 1 from users.users)
