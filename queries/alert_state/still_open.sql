update alert_episodes set last_value = :value, last_seen_at = :now where id = :id
