"""The ETL run: extract -> transform -> check -> publish -> write-back, and its history."""
