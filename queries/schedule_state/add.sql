-- A due time seen for the first time: pending, to attempt now. Already there (another run took it): nothing.
insert into deliveries (schedule, due_at, trigger_kind, status, next_attempt_at)
values (:schedule, :due_at, :trigger_kind, 'pending', :due_at)
on conflict (schedule, due_at) do nothing
