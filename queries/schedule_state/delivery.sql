select * from deliveries where schedule = :schedule and due_at = :due_at
