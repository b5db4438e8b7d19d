-- The months (first day, UTC) that rows waiting in a DEFAULT partition belong to. Run with TimeZone = UTC.
select distinct date_trunc('month', {key})::date as month
from {default_partition}
order by month
