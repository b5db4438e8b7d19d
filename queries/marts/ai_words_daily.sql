with version_facts as (
    select * from marts.version_facts
),

final as (
    select
        day,
        count(*) as versions,
        -- words added by AI: each AI version's growth over the chapter's previous version, never its whole length
        sum(ai_words)::bigint as words
    from version_facts
    where is_ai
    group by day
)

select * from final
