-- The platform's changes marked on every time-series chart (docs/dashboards.md, "Annotations").
select day, kind, label
from marts.platform_annotations
order by day, kind, label
