-- Names and emails of the given users, for the roles that see personal data (absent when the run redacted PII).
-- The ids are joined as a table: a list compared with every user costs users x ids (every author of the unit
-- economics page at large: 6 s).
with wanted as (
    select distinct unnest($ids::varchar[]) as user_id
),

pii as (
    select * from staging.user_pii
),

final as (
    select
        wanted.user_id,
        concat_ws(' ', nullif(trim(concat_ws(' ', pii.first_name, pii.last_name)), ''), '<' || pii.email || '>')
            as label
    from pii
    inner join wanted on pii.id::varchar = wanted.user_id
)

select * from final
