-- Months are UTC months whatever the server's or role's TimeZone (date_trunc on timestamptz uses it).
set local timezone = 'UTC'
