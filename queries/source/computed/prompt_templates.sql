-- The staged columns of ai_processing.prompt_templates, plus the fingerprint of the template's text before its
-- first variable (the opening brace written chr(123): a brace would read as a placeholder), normalised as a prompt
-- is in ai_generations.sql: a prompt written from the template starts with that text. A template whose text before
-- its first variable is shorter than the 12 fingerprinted characters cannot be recognised: NULL.
-- Only the columns read (the reader role may SELECT no others).
with templates as (
    select
        {columns},
        ltrim(lower(regexp_replace(split_part(user_prompt_template, chr(123), 1), '\s+', ' ', 'g'))) as fixed_text
    from ai_processing.prompt_templates
)

select
    {columns},
    case when length(fixed_text) >= 12 then md5(left(fixed_text, 12)) end as prompt_fingerprint
from templates
