-- The results of the run being published (pipelines/run/etl.py), with what each was computed from: one insert of
-- the rows registered as `check_result_rows` (a statement per result cost ~1 ms each, most of a small run's publish).
insert into meta.check_results (
    run_id, name, severity, success, unexpected_count, table_name, sample_ids, inputs, checked_at
)
select
    run_id,
    name,
    severity,
    success,
    unexpected_count,
    table_name,
    sample_ids,
    inputs,
    checked_at
from check_result_rows
