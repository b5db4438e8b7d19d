"""Step 3, transform: staging tables -> marts, by SQL models in queries/marts."""
