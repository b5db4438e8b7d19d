update alert_episodes set resolved_at = :now, resolved_run_id = :run_id where id = :id
