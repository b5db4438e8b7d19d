-- Warn-level checks of the published run that failed (an error-level failure holds back marts: held_back.sql).
select name, severity, unexpected_count, table_name
from meta.check_results
where not success and severity = 'warn'
order by name
