-- on_utc_days(ts, first_day, last_day): whether the instant ts falls on a UTC day from first_day to last_day (NULL:
-- no bound), written as a range of ts itself, so DuckDB skips every row group whose minimum and maximum fall outside
-- (a condition on utc_day(ts) is computed row by row). A mart over the events reads only the days a refresh by day
-- rebuilds this way (pipelines/transform/runner.py, REFRESH_WINDOW); every other build binds no bound.
create or replace temp macro on_utc_days(ts, first_day, last_day) as
(first_day is null or ts >= make_timestamptz(epoch_us(first_day::date::timestamp)))
and (last_day is null or ts < make_timestamptz(epoch_us(last_day::date::timestamp + interval 1 day)));
