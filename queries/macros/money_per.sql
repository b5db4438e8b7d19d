-- money_per(amount, count): an amount of USD (DECIMAL, at most 6 places) divided by a count, rounded half up to 6
-- places, exactly: DuckDB divides decimals in floating point, so the division is done in whole micro-dollars.
-- NULL when the count is 0 or NULL. e.g. `money_per(sum(cost_usd), count(*))`.
create or replace temp macro money_per(amount, count) as (
    case when count > 0 then
            ((2 * (amount * 1000000)::hugeint + count::hugeint) // (2 * count::hugeint))::decimal(38, 0) * 0.000001
    end
)::decimal(18, 6);
