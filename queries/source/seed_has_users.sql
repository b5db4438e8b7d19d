-- Seeding is for an empty source: any user means there is history already.
select exists(select 1 from users.users)
