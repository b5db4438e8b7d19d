-- months_reached(from_ts, to_ts, unbounded_months): the months a span [from_ts, to_ts) reaches in a mart of complete
-- months read at their ends (the exclusive midnight ending each): from the one whose end it may start counting at to
-- the one it ends in, no later than the current month (to_ts infinite: the current month), as timestamps. A span
-- open since -infinity (a first history version) reaches `unbounded_months` instead: what its key has in the mart.
create or replace temp macro months_reached(from_ts, to_ts, unbounded_months) as
case
    when isinf(from_ts) then unbounded_months
    else generate_series(
            date_trunc('month', from_ts - interval 1 microsecond),
            least(case when isinf(to_ts) then now() else to_ts end, now()),
            interval 1 month
        )
end;
