-- PostgreSQL: bring our publication to the staged columns of every extracted table (DDL template).
alter publication {publication} set table {tables}
