-- The staged columns of ai_processing.ai_generations, plus two computed here so the texts never leave the source:
-- prompt_fingerprint  md5 of the prompt's first 12 characters after lower-casing and collapsing whitespace (leading
--                     whitespace dropped): the same fingerprint prompt_templates.sql computes from a template's text
--                     before its first variable, so a generation matches the template it was written from.
-- error_class         error_message up to its first colon ("rate_limit_exceeded: provider returned 429" ->
--                     "rate_limit_exceeded"), at most 64 characters; a message without a colon is 'other' (free text).
select
    {columns},
    md5(left(ltrim(lower(regexp_replace(prompt, '\s+', ' ', 'g'))), 12)) as prompt_fingerprint,
    case
        when strpos(error_message, ':') > 1 then left(btrim(split_part(error_message, ':', 1)), 64)
        when error_message is not null then 'other'
    end as error_class
from ai_processing.ai_generations
