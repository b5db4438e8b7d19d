-- The file behind the connection: the live warehouse is not opened a second time when it is the one checked.
select path
from duckdb_databases()
where database_name = current_database()
