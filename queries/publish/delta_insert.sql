-- The new versions of the net change ({delta}, from delta.sql), added to the publication's table ({target}).
insert into {target}
select * exclude (_version, _hash) from {delta}
where _version = 'new'
