-- The extract limit: the staged columns of one table (the extract's own select), streamed as binary COPY.
-- (sqlfluff's PostgreSQL grammar lacks the `format binary` option, hence the noqa.)
copy ({select}) to stdout (format binary)  -- noqa: PRS
