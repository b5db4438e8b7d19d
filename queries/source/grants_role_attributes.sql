-- Whether the role exists, and whether it is one no grant can restrict.
select rolsuper or rolbypassrls as unrestricted from pg_roles where rolname = %(role)s
