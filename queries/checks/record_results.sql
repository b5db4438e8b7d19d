-- The results of the run being published (pipelines/run/etl.py), with what each was computed from: one insert of
-- the rows registered as `check_result_rows`, whose columns are named as the table's (a statement per result cost
-- ~1 ms each, most of a small run's publish).
insert into meta.check_results by name
select * from check_result_rows
