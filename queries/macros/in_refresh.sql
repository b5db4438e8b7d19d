-- in_refresh(period, first_period, last_period, periods, with_null): whether a mart row's period is one an incremental
-- run refreshes (pipelines/transform/runner.py): between first and last and one of `periods` (an empty list: every
-- period between), or NULL when rows without a period are refreshed too.
create or replace temp macro in_refresh(period, first_period, last_period, periods, with_null) as
(period::date between first_period and last_period and (len(periods) = 0 or list_contains(periods, period::date)))
or (period is null and with_null);
