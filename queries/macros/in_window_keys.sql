-- in_window_keys(key, keys): whether an input row belongs to one of the keys a refresh by key rebuilds (NULL: every
-- key). A model refreshed by key reads only those keys' rows this way (pipelines/transform/runner.py,
-- REFRESH_WINDOW): the refresh's own filter on the model's result reaches no input through a left join, an ASOF
-- join or an aggregation of another column, so every key was computed and all but a few thrown away. A semi-join
-- on the keys' list, not list_contains, which compares each row with every key.
create or replace temp macro in_window_keys(key, keys) as
keys is null or key in (select unnest(keys));
