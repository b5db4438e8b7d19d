-- payout_age_bucket(days): the ageing bucket of a payout `days` old (payout_age): 0-30, 31-60, 61-90 or over 90 days.
-- The labels sort in bucket order.
create or replace temp macro payout_age_bucket(days) as case
    when days <= 30 then '0-30 days'
    when days <= 60 then '31-60 days'
    when days <= 90 then '61-90 days'
    else 'over 90 days'
end;
