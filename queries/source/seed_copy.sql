-- Bulk load of one seeded table (pipelines/source/seed/load.py); rows arrive as CSV, NULL as an unquoted empty field.
copy {table} ({columns}) from stdin (format csv)
