-- picked(choices, value): a multiselect filter where an empty list means "all".
-- e.g. `where picked($plans, plan)`; `choices` is a list bound as a parameter.
create or replace temp macro picked(choices, value) as len(choices) = 0 or list_contains(choices, value);
