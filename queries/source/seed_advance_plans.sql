select id::text, name from billing.subscription_plans
