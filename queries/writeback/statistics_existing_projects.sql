-- PostgreSQL: of the projects the run's change set names, those the source still has (by primary key).
select projects.id as project_id
from content.projects
where projects.id = any(%(project_ids)s)
