-- The extract limit: the staged columns of one table (the extract's own select), streamed as binary COPY.
copy ({select}) to stdout (format binary)
