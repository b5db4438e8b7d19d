-- Delete from the publication's table ({target}) every row equal to an old version of the net change ({delta}, from
-- delta.sql), matched by row hash; {bounds} (one column's range over some of the old versions' values, `column
-- between $low_n and $high_n`, or `true`) lets DuckLake skip the files, and DuckDB the row groups, no such old version
-- can be in.
delete from {target} as target_row
where
    {bounds}
    and hash(target_row) in (
        select changed._hash from {delta} as changed
        where changed._version = 'old'
    )
