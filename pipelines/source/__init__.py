"""Step 1, the source: the operational PostgreSQL database (schema, embedded server, synthetic history)."""
