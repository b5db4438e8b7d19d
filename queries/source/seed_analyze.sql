-- Fresh planner statistics after a bulk load, so the first ETL run does not plan against empty tables.
analyze
