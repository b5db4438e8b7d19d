create table {partition} partition of {parent} for values from ({lower}) to ({upper})
