"""Step 2, extract: copies the tables of `queries/staging/sources.yml` into the warehouse's `staging` schema."""
