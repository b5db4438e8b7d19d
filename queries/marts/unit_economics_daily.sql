-- A refresh by day reads only its days' generations and statements ($window_first .. $window_last; no bound in a
-- whole build): every generation of every day was 0.6 s a refresh at large.
with generations as (
    select * from marts.ai_generation_facts
    where on_days(day, $window_first, $window_last)
),

-- (Both read twice, each read with its own filter: DuckDB would copy a CTE read twice whole, every generation and
-- chapter at every refresh.)
all_generations as not materialized (
    select * from marts.ai_generation_facts
),

chapters as not materialized (
    select * from staging.chapters
),

projects as (
    select * from staging.projects
),

statements as (
    select * from marts.revenue_share_statements
),

subscriptions as (
    select * from marts.subscriptions
),

-- A generation works on the book it names, else on the book of the chapter it names; naming neither, on no book.
generation_books as (
    select
        generations.day,
        generations.generation_id,
        generations.user_id,
        coalesce(generations.project_id, chapters.project_id) as project_id,
        generations.tokens_used,
        generations.cost_usd
    from generations
    left join chapters on chapters.id = generations.chapter_id
),

window_statements as (
    select * from statements
    where on_days(period_start, $window_first, $window_last)
),

-- Every book generated on or sold in the window, staged or not, so no cost or sale is lost when a project is no
-- longer staged.
books as (
    select project_id from generation_books where project_id is not null
    union
    select project_id from window_statements
),

statement_authors as (
    select project_id, min(author_id) as author_id
    from statements
    where project_id in (select books.project_id from books)
    group by project_id
),

-- A book without an owner or a statement falls to whoever generated on it first by id, on any day: such books are
-- few (usually none), so only their generations are read.
ownerless_books as (
    select books.project_id
    from books
    left join projects on books.project_id = projects.id
    left join statement_authors on books.project_id = statement_authors.project_id
    where projects.owner_id is null and statement_authors.author_id is null
),

generation_users as (
    select
        generated.project_id,
        min(generated.user_id) as user_id
    from (
        select
            all_generations.project_id,
            all_generations.user_id
        from all_generations
        where all_generations.project_id in (select ownerless_books.project_id from ownerless_books)
        union all
        select
            chapters.project_id,
            all_generations.user_id
        from all_generations
        inner join chapters on all_generations.chapter_id = chapters.id
        where
            all_generations.project_id is null
            and chapters.project_id in (select ownerless_books.project_id from ownerless_books)
    ) as generated
    group by generated.project_id
),

-- A book's author is its owner; a book no longer staged falls to the author its statements pay, else to whoever
-- generated on it. Genre and publication cohort as the filters offer them.
book_attributes as (
    select
        books.project_id,
        coalesce(projects.owner_id, statement_authors.author_id, generation_users.user_id) as author_id,
        coalesce(projects.genre, 'unknown') as genre,
        case
            when projects.published_at is null then 'never published'
            else strftime(utc_day(projects.published_at), '%Y-%m')
        end as cohort
    from books
    left join projects on projects.id = books.project_id
    left join statement_authors on statement_authors.project_id = books.project_id
    left join generation_users on generation_users.project_id = books.project_id
),

-- The author's plan: that of their latest subscription (any status), '(no plan)' without one.
author_plans as (
    select user_id, arg_max(plan, created_at) as plan
    from subscriptions
    group by user_id
),

-- Generations on a book count for the book's author; those on no book for whoever asked for them.
cost_facts as (
    select
        generation_books.day,
        generation_books.project_id,
        coalesce(book_attributes.author_id, generation_books.user_id) as author_id,
        count(*) as generations,
        sum(generation_books.tokens_used) as tokens_used,
        sum(generation_books.cost_usd) as ai_cost_usd
    from generation_books
    left join book_attributes on book_attributes.project_id = generation_books.project_id
    group by all
),

-- A statement counts on the first day of its revenue period (the revenue metrics' month is that day's month).
sales_facts as (
    select
        statements.period_start as day,
        statements.project_id,
        book_attributes.author_id,
        sum(statements.book_sales) as book_sales,
        sum(statements.platform_revenue) as platform_commission,
        sum(statements.author_revenue) as author_share
    from window_statements as statements
    inner join book_attributes on book_attributes.project_id = statements.project_id
    group by all
),

final as (
    select
        coalesce(cost_facts.day, sales_facts.day) as day,
        coalesce(cost_facts.project_id, sales_facts.project_id) as project_id,
        coalesce(cost_facts.author_id, sales_facts.author_id) as author_id,
        coalesce(book_attributes.genre, '(no book)') as genre,
        coalesce(author_plans.plan, '(no plan)') as plan,
        coalesce(book_attributes.cohort, '(no book)') as cohort,
        coalesce(cost_facts.generations, 0)::bigint as generations,
        coalesce(cost_facts.tokens_used, 0)::bigint as tokens_used,
        coalesce(cost_facts.ai_cost_usd, 0)::decimal(18, 6) as ai_cost_usd,
        coalesce(sales_facts.book_sales, 0)::decimal(18, 2) as book_sales,
        coalesce(sales_facts.platform_commission, 0)::decimal(18, 2) as platform_commission,
        coalesce(sales_facts.author_share, 0)::decimal(18, 2) as author_share
    from cost_facts
    full outer join sales_facts
        on
        sales_facts.day = cost_facts.day
        and sales_facts.project_id = cost_facts.project_id
        and sales_facts.author_id = cost_facts.author_id
    left join book_attributes
        on book_attributes.project_id = coalesce(cost_facts.project_id, sales_facts.project_id)
    left join author_plans on author_plans.user_id = coalesce(cost_facts.author_id, sales_facts.author_id)
    order by day
)

select * from final
