-- Back into the parent: they are routed to the partition just created.
insert into {parent}
select * from {stash}
