"""Step 5, publish: one run at a time, a DuckLake snapshot per publication, run history, write-back."""
