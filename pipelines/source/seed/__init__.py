"""A deterministic synthetic history of the platform: `source seed` fills an empty source, `source advance` adds days.

Every id, timestamp and amount comes from numpy Generators seeded by (seed, step name), so the same seed and end
date give byte-identical data. Columns are built vectorised as Arrow arrays and bulk-loaded with COPY.
"""
