insert into alert_episodes (
    rule, subject, severity, role, subject_kind, value, threshold, alert_window, detail, fired_at, fired_run_id,
    last_value, last_seen_at
) values (
    :rule, :subject, :severity, :role, :subject_kind, :value, :threshold, :alert_window, :detail, :now, :run_id,
    :value, :now
)
