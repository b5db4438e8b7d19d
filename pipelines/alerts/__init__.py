"""Alerts delivered into the platform: rules (`queries/alerts/*.yml`) evaluated after every run, fired once per
episode into `system.background_jobs` (docs/alerts.md)."""
