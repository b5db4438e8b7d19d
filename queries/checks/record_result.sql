-- One check's result of the run being published (pipelines/run/etl.py), with what it was computed from.
insert into meta.check_results (
    run_id, name, severity, success, unexpected_count, table_name, sample_ids, inputs, checked_at
)
values ($run_id, $name, $severity, $success, $unexpected, $table, $ids, $inputs, $checked_at)
