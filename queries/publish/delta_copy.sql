-- The working table's ({source}) rows equal to an old version of the net change ({delta}, from delta.sql), added to
-- the publication's table ({target}): where the publication held more copies of such a row than the change deletes,
-- the copies that stay ({bounds} as in delta_delete.sql).
insert into {target}
select source_row.* from {source} as source_row
where
    {bounds}
    and hash(source_row) in (
        select changed._hash from {delta} as changed
        where changed._version = 'old'
    )
