-- Checks of the published run that failed (warn level: an error-level failure blocks publishing).
select name, severity, unexpected_count, table_name
from meta.check_results
where not success
order by severity, name
