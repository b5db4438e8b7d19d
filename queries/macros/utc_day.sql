-- utc_day(ts): the UTC calendar day of a timestamptz, whatever the session's TimeZone
-- (a timestamptz cast to date takes the session's zone; its epoch does not).
create or replace temp macro utc_day(ts) as make_timestamp(epoch_us(ts))::date;
