-- Names and emails of the given users, for the roles that see personal data (absent when the run redacted PII).
select
    id::varchar as user_id,
    concat_ws(' ', nullif(trim(concat_ws(' ', first_name, last_name)), ''), '<' || email || '>') as label
from staging.user_pii
where list_contains($ids, id::varchar)
