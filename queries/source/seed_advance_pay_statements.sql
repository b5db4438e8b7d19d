update billing.revenue_shares as r
set payout_status = 'paid', payout_date = paid.payout_date
from unnest(%(ids)s::uuid[], %(payout_date)s::timestamptz[]) as paid (id, payout_date)
where r.id = paid.id
