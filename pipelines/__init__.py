"""ebook-analytics: operational PostgreSQL -> DuckDB warehouse -> checks -> dashboards and exports."""
