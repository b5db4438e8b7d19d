"""`ebook-analytics bench`: the ETL and dashboards measured against the physical floor and a naive peer."""
