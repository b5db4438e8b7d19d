-- Staged row counts of the run that wrote this warehouse (the volume baseline when read from the live file).
select table_name, rows
from meta.extract_state
