-- The reconciliation totals of the run being published (pipelines/quality/totals.py): one insert of the rows
-- registered as `check_total_rows`, whose columns are named as the table's.
insert into meta.check_totals by name
select * from check_total_rows
