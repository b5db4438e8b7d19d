-- Move one month's rows out of DEFAULT: the new partition cannot be created while DEFAULT holds any.
with moved as (
    delete from {default_partition}
    where {key} >= %(lower)s and {key} < %(upper)s
    returning *
)

insert into {stash}
select * from moved
