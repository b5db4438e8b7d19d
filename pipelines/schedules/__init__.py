"""Scheduled delivery of report packs and statement packs: schedule files, due times, delivery and its state."""
