-- PostgreSQL: one server setting into postgresql.auto.conf (embedded server only; see pipelines/source/server.py).
alter system set {setting} = {value}
