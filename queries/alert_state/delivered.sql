update alert_episodes set delivered_at = :delivered_at, delivery_error = :error where id = :id
