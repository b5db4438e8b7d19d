select * from deliveries order by due_at desc, id desc
