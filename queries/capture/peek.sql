-- PostgreSQL: the slot's decoded changes of transactions committed before upto_lsn, without consuming them (the
-- slot moves on only after the warehouse was published: capture_advance.sql). The options are pgoutput's, as
-- name-value pairs (pipelines/extract/capture.py: the protocol version, the publication, streaming).
select data
from pg_logical_slot_peek_binary_changes(
        %(slot)s, %(upto_lsn)s::pg_lsn, null, variadic %(options)s::text[]
    )
