-- Pending deliveries whose next attempt is due, oldest first.
select *
from deliveries
where status = 'pending' and next_attempt_at <= :now
order by due_at, id
