-- Delete from the publication's table ({target}) every row equal to an old version of the net change ({delta}, from
-- delta.sql), matched by row hash; {bounds} (`and`-ed `column between $lo_n and $hi_n` over the old versions' values,
-- or `true`) lets DuckLake skip the files no old version can be in.
delete from {target} as target_row
where
    {bounds}
    and hash(target_row) in (
        select changed._hash from {delta} as changed
        where changed._version = 'old'
    )
