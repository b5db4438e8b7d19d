-- Every table of the warehouse as schema.table: checks of tables that are missing fail instead of erroring.
select table_schema || '.' || table_name as qualified_name
from information_schema.tables
