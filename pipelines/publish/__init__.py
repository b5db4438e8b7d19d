"""Step 5, publish: one run at a time, the atomic swap of the warehouse file, run history, write-back."""
