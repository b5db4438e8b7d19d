-- on_days(day, first_day, last_day): whether a date falls from first_day to last_day (NULL: no bound), as on_utc_days
-- for an instant: a mart over a date column reads only a refresh's window of days this way (REFRESH_WINDOW).
create or replace temp macro on_days(day, first_day, last_day) as
(first_day is null or day >= first_day::date) and (last_day is null or day <= last_day::date);
