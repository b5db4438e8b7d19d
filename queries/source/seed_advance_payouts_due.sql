-- Statements waiting for a payout that is now due (issued at least a fortnight before the new day).
select id::text, (extract(epoch from created_at) * 1000000)::bigint as created_us
from billing.revenue_shares
where payout_status in ('pending', 'processing') and created_at < %(due)s
order by created_at, id
