-- payout_age(period_month, as_of): UTC days from the end of a statement's month to `as_of`, the age of an unpaid
-- payout (payout ageing); a month not over yet counts 0 days.
create or replace temp macro payout_age(period_month, as_of) as greatest(
    date_diff('day', last_day(period_month), as_of), 0
);
