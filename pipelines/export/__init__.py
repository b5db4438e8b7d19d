"""Step 6, export: finance statements (CSV/XLSX) from the published warehouse."""
