update deliveries
set
    status = :status,
    attempts = attempts + 1,
    next_attempt_at = :next_attempt_at,
    sent_at = :sent_at,
    recipients = :recipients,
    folder = :folder,
    files = :files,
    done = :done,
    run_id = :run_id,
    error = :error
where id = :id
